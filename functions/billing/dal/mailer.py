"""Templated email through SES (v1 ``SendTemplatedEmail``: SESv2 templates are not in moto).

Addresses are never logged: only the template kind and SES's message id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from billing.logic.dunning import EmailKind
from cognitionos.aws import client
from cognitionos.observability import logger


class SesMailer:
    """Sends ``kind``'s stored template from ``sender``."""

    def __init__(self, sender: str, templates: Mapping[EmailKind, str]) -> None:
        self._sender = sender
        self._templates = dict(templates)

    def send(self, kind: EmailKind, to: str, data: Mapping[str, str]) -> str:
        template = self._templates[kind]
        response = client("ses").send_templated_email(
            Source=self._sender,
            Destination={"ToAddresses": [to]},
            Template=template,
            TemplateData=json.dumps(dict(data), separators=(",", ":")),
        )
        message_id = str(response["MessageId"])
        logger.info("email sent", extra={"template": template, "ses_message_id": message_id})
        return message_id
