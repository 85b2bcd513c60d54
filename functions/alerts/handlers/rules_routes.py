"""POST /v1/alerts/rules and POST /v1/alerts/silences: what fires, and what stays quiet."""

from __future__ import annotations

import secrets
import time

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from alerts.handlers.wiring import BODY_ERRORS, ERRORS, EXAMPLES, SCOPE, operator_only, store
from alerts.models.api import RuleCreate, RuleCreated, SilenceCreate, SilenceCreated
from cognitionos.errors import Unprocessable
from cognitionos.http import INVALID, current_principal, documented_responses, require_scope
from cognitionos.timeutil import iso, now, parse_iso

router = APIGatewayHttpRouter()


@router.post(
    "/v1/alerts/rules",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Create an alert rule",
    description=(
        "`alerts-evaluate` (every minute) reads the metric over the last `window_minutes`: a "
        "counter's sum, a gauge's newest value, each label set of the metric on its own (no "
        "data counts as 0). When `value <comparison> threshold` holds, one alert per rule and "
        "label set fires (its `fingerprint`); when it no longer holds, the alert resolves. "
        "The alert's labels are the rule's `labels` and the metric's. Needs `alerts:manage` "
        "on an operator key."
    ),
    status_code=201,
    responses=documented_responses(
        "The rule's id",
        {**ERRORS, **BODY_ERRORS, 422: INVALID},
        status=201,
        examples={**EXAMPLES, 422: "window_minutes: Input should be less than or equal to 1440"},
    ),
)
def create_rule(request: RuleCreate) -> RuleCreated:
    principal = current_principal(router)
    operator_only(principal)
    rule_id = f"rule_{secrets.token_hex(8)}"
    rule = {"rule_id": rule_id, **request.model_dump(mode="json")}
    store().put_rule(rule, iso(now()), actor=principal.key_id)
    return RuleCreated(rule_id=rule_id)


@router.post(
    "/v1/alerts/silences",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Silence alerts",
    description=(
        "Until `ends_at`, alerts whose labels hold every one of `match` send no notification: "
        "they still fire, resolve and list. Needs `alerts:manage` on an operator key."
    ),
    status_code=201,
    responses=documented_responses(
        "The silence",
        {**ERRORS, **BODY_ERRORS, 422: INVALID + "; or `ends_at` is not in the future"},
        status=201,
        examples={**EXAMPLES, 422: "ends_at must be in the future"},
    ),
)
def create_silence(request: SilenceCreate) -> SilenceCreated:
    principal = current_principal(router)
    operator_only(principal)
    try:
        ends_at = int(parse_iso(request.ends_at).timestamp())
    except ValueError:
        raise Unprocessable("ends_at is not a valid time") from None
    if ends_at <= time.time():
        raise Unprocessable("ends_at must be in the future")
    silence_id = f"silence_{secrets.token_hex(8)}"
    store().put_silence(
        silence_id, dict(request.match), ends_at, iso(now()), actor=principal.key_id
    )
    return SilenceCreated(silence_id=silence_id, ends_at=iso(ends_at))
