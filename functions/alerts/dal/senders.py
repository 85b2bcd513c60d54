"""Sending one notification (or a digest) to one channel, by channel type."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from alerts.dal import outbound
from alerts.dal.outbound import Answer
from alerts.logic import payloads
from alerts.logic.payloads import DigestLine
from alerts.logic.targets import TargetRefused
from cognitionos.aws import client
from cognitionos.crypto import SubjectKeyring
from cognitionos.observability import logger

SES_RETRYABLE = frozenset({"Throttling", "ThrottlingException", "ServiceUnavailable"})


@dataclass(frozen=True)
class Channel:
    channel_id: str
    type: str
    rate_limit_per_minute: int
    config: Mapping[str, Any]

    @classmethod
    def unsealed(cls, item: Mapping[str, Any], keyring: SubjectKeyring) -> Channel:
        config = json.loads(keyring.decrypt(item["channel_id"], "config", item["config_sealed"]))
        return cls(item["channel_id"], item["type"], int(item["rate_limit_per_minute"]), config)


@dataclass(frozen=True)
class Email:
    sender: str
    template: str


class Senders:
    def __init__(self, email: Email, *, allow_loopback: bool) -> None:
        self._email = email
        self._allow_loopback = allow_loopback

    def notify(self, channel: Channel, event: str, alert: Mapping[str, Any]) -> Answer:
        config = channel.config
        if channel.type == "webhook":
            return self._signed(config, payloads.webhook_body(event, alert))
        if channel.type == "slack":
            return self._post(config["webhook_url"], payloads.slack_body(event, alert))
        if channel.type == "pagerduty":
            body = payloads.pagerduty_body(config["routing_key"], event, alert)
            return self._post(config.get("events_url") or payloads.PAGERDUTY_EVENTS_URL, body)
        return self._mail(config["to"], payloads.email_data(event, alert))

    def digest(self, channel: Channel, lines: Sequence[DigestLine]) -> Answer:
        config = channel.config
        if channel.type == "webhook":
            return self._signed(config, payloads.webhook_digest_body(channel.channel_id, lines))
        if channel.type == "slack":
            return self._post(config["webhook_url"], payloads.slack_digest_body(lines))
        if channel.type == "pagerduty":
            body = payloads.pagerduty_digest_body(config["routing_key"], channel.channel_id, lines)
            return self._post(config.get("events_url") or payloads.PAGERDUTY_EVENTS_URL, body)
        return self._mail(config["to"], payloads.email_digest_data(channel.channel_id, lines))

    def _signed(self, config: Mapping[str, Any], body: bytes) -> Answer:
        signature = payloads.webhook_signature(config["secret"], body, int(time.time()))
        return self._post(config["url"], body, {payloads.SIGNATURE_HEADER: signature})

    def _post(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        try:
            return outbound.post(url, body, headers or {}, allow_loopback=self._allow_loopback)
        except TargetRefused as exc:
            return Answer(400, f"target refused: {exc}")  # never retried: a 4xx of our own

    def _mail(self, to: Sequence[str], data: Mapping[str, str]) -> Answer:
        try:
            response = client("ses").send_templated_email(
                Source=self._email.sender,
                Destination={"ToAddresses": list(to)},
                Template=self._email.template,
                TemplateData=json.dumps(dict(data), separators=(",", ":")),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = 503 if code in SES_RETRYABLE else 400
            return Answer(status, f"SES {code}")
        logger.info("alert email sent", extra={"ses_message_id": response["MessageId"]})
        return Answer(200)
