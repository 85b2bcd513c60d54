"""POST /v1/alerts/channels: where notifications go."""

from __future__ import annotations

import secrets
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from alerts.dal.outbound import check_config_targets
from alerts.handlers.wiring import BODY_ERRORS, ERRORS, EXAMPLES, SCOPE, operator_only, store
from alerts.models.api import ChannelCreate, ChannelCreated
from alerts.settings import api_settings
from cognitionos.http import INVALID, current_principal, documented_responses, require_scope
from cognitionos.timeutil import iso, now

router = APIGatewayHttpRouter()


@router.post(
    "/v1/alerts/channels",
    middlewares=[require_scope(SCOPE)],
    tags=["alerts"],
    summary="Create an alert channel",
    description=(
        "A destination for alert notifications: a Slack incoming webhook, a PagerDuty Events "
        "API v2 integration, email recipients (sent through SES) or a signed webhook. It gets "
        "every alert at or above `min_severity` whose labels hold all of `match`, when it "
        "fires, is acknowledged and is resolved. A URL must be `https` and resolve to public "
        "addresses only; it is checked again before every send. `config` is stored encrypted "
        "and never returned. Needs `alerts:manage` on an operator key."
    ),
    status_code=201,
    responses=documented_responses(
        "The channel's id",
        {
            **ERRORS,
            **BODY_ERRORS,
            422: INVALID + "; or a target that is not allowed (http, a private or loopback "
            "address, a host that does not resolve)",
        },
        status=201,
        examples={
            **EXAMPLES,
            422: "config.url: the host 'metadata.internal' resolves to 169.254.169.254, which "
            "is not a public address",
        },
    ),
)
def create_channel(request: Annotated[ChannelCreate, Body()]) -> ChannelCreated:
    principal = current_principal(router)
    operator_only(principal)
    check_config_targets(
        request.type, request.config, allow_loopback=api_settings().cognition_allow_loopback_targets
    )
    channel_id = f"ch_{secrets.token_hex(8)}"
    channel = {
        "channel_id": channel_id,
        "name": request.name,
        "type": request.type,
        "min_severity": request.min_severity,
        "match": dict(request.match),
        "rate_limit_per_minute": request.rate_limit_per_minute,
    }
    config = request.config.model_dump(exclude_none=True)
    store().put_channel(channel, config, iso(now()), actor=principal.key_id)
    return ChannelCreated(channel_id=channel_id)
