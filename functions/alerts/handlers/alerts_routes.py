"""GET /v1/alerts, GET /v1/alerts/{alert_id}, POST .../ack and .../resolve."""

from __future__ import annotations

import time
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from alerts.dal.deliveries import delivery_view
from alerts.dal.store import alert_view
from alerts.handlers.wiring import ERRORS, EXAMPLES, SCOPE, operator_only, queue, store
from alerts.logic.lifecycle import change_status
from alerts.logic.rules import AlertStatus
from alerts.models.api import AlertDetail, AlertPage, AlertView, detail
from cognitionos.http import (
    INVALID,
    PAGE_EXAMPLES,
    Limit,
    NextToken,
    current_principal,
    documented_responses,
    require_scope,
)

router = APIGatewayHttpRouter()
AlertId = Annotated[
    str,
    Path(
        pattern=r"^alert_[0-9a-f]{32}$",
        description="The alert's id",
        openapi_examples={"an alert": {"value": "alert_0c7a9d2e4f6a8b1c0c7a9d2e4f6a8b1c"}},
    ),
]
NOT_FOUND = {404: "There is no alert with this id"}
NOT_FOUND_EXAMPLE = {404: "no alert alert_0c7a9d2e4f6a8b1c0c7a9d2e4f6a8b1c"}


@router.get(
    "/v1/alerts",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="List alerts",
    description="Alerts, newest first, in one status or all. Needs `alerts:manage`.",
    responses=documented_responses(
        "A page of alerts",
        {**ERRORS, 400: "`next_token` is not one this listing issued", 422: INVALID},
        examples={**EXAMPLES, **PAGE_EXAMPLES},
    ),
)
def list_alerts(
    status: Annotated[
        AlertStatus | None,
        Query(
            description="Only alerts in this status",
            openapi_examples={"firing": {"value": "firing"}},
        ),
    ] = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> AlertPage:
    operator_only(current_principal(router))
    items, token = store().list_alerts(status, limit, next_token)
    return AlertPage(alerts=[AlertView(**alert_view(i)) for i in items], next_token=token)


@router.get(
    "/v1/alerts/<alert_id>",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Read an alert and its deliveries",
    description=(
        "The alert, and one delivery per channel and event (`firing`, `acknowledged`, "
        "`resolved`): `sent`, `retrying` (5xx, 429 or no answer: retried with backoff), "
        "`failed` (another 4xx, not retried; or retries exhausted, then the message is in the "
        "dead-letter queue) or `digested` (held back by the channel's rate limit, named in "
        "its next digest). Needs `alerts:manage`."
    ),
    responses=documented_responses(
        "The alert",
        {**ERRORS, **NOT_FOUND, 422: INVALID},
        examples={**EXAMPLES, **NOT_FOUND_EXAMPLE},
    ),
)
def get_alert(alert_id: AlertId) -> AlertDetail:
    operator_only(current_principal(router))
    alert, deliveries = store().alert_with_deliveries(alert_id)
    return detail(alert, [delivery_view(d) for d in deliveries])


def _lifecycle(alert_id: str, to: str) -> AlertDetail:
    principal = current_principal(router)
    operator_only(principal)
    now_s = int(time.time())
    change_status(store(), queue(), alert_id, to, now_s=now_s, actor=principal.key_id)
    alert, deliveries = store().alert_with_deliveries(alert_id)
    return detail(alert, [delivery_view(d) for d in deliveries])


LIFECYCLE_ERRORS = {
    **ERRORS,
    **NOT_FOUND,
    409: "The alert is resolved: it can no longer be acknowledged",
    422: INVALID,
}
LIFECYCLE_EXAMPLES = {
    **EXAMPLES,
    **NOT_FOUND_EXAMPLE,
    409: "alert alert_0c7a9d2e4f6a8b1c0c7a9d2e4f6a8b1c is resolved; it can no longer be "
    "acknowledged",
}


@router.post(
    "/v1/alerts/<alert_id>/ack",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Acknowledge an alert",
    description=(
        "Someone is on it: a firing alert becomes `acknowledged`, and every channel it reached "
        "hears so (PagerDuty gets `acknowledge` with the same `dedup_key`). Acknowledging again "
        "changes nothing. It still resolves on its own when its condition no longer holds. "
        "Needs `alerts:manage`."
    ),
    responses=documented_responses(
        "The alert, acknowledged", LIFECYCLE_ERRORS, examples=LIFECYCLE_EXAMPLES
    ),
)
def acknowledge_alert(alert_id: AlertId) -> AlertDetail:
    return _lifecycle(alert_id, "acknowledged")


@router.post(
    "/v1/alerts/<alert_id>/resolve",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Resolve an alert",
    description=(
        "Closes the alert and tells its channels (PagerDuty gets `resolve`). If its condition "
        "still holds at the next evaluation, a new alert with the same fingerprint fires. "
        "Resolving again changes nothing. Needs `alerts:manage`."
    ),
    responses=documented_responses(
        "The alert, resolved",
        {**ERRORS, **NOT_FOUND, 422: INVALID},
        examples={**EXAMPLES, **NOT_FOUND_EXAMPLE},
    ),
)
def resolve_alert(alert_id: AlertId) -> AlertDetail:
    return _lifecycle(alert_id, "resolved")
