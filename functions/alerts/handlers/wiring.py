"""The alerts API's doors, built once per execution environment from its settings."""

from __future__ import annotations

import functools

from alerts.dal.notifications import NotificationQueue
from alerts.dal.store import AlertStore
from alerts.settings import api_settings
from cognitionos.audit.store import audit_log
from cognitionos.auth import Principal
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.errors import Forbidden
from cognitionos.http import FORBIDDEN, UNAUTHORIZED

SCOPE = "alerts:manage"
ERRORS = {401: UNAUTHORIZED, 403: FORBIDDEN + " (`alerts:manage`), or is bound to a tenant"}
EXAMPLES = {403: "this API key lacks the 'alerts:manage' scope"}
BODY_ERRORS = {
    400: "The body is not JSON, or not UTF-8",
    415: "The body was not sent as `Content-Type: application/json`",
}


@functools.cache
def store() -> AlertStore:
    return AlertStore(dynamodb_table(api_settings().alerts_table), subject_keyring(), audit_log())


@functools.cache
def queue() -> NotificationQueue:
    return NotificationQueue(api_settings().alert_notifications_queue_url)


def operator_only(principal: Principal) -> None:
    """Alerts watch the whole deployment: a key bound to one tenant may not see or change them."""
    if principal.tenant_id is not None:
        raise Forbidden("alerts are for operator keys; this key is bound to a tenant")
