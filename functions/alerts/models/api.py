"""Request and response bodies of the alerts API (docs/API.md, "Alerts")."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
    field_validator,
)

from alerts.logic.rules import AlertStatus, Comparison, Severity

LabelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
LabelValue = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^,=#\t\n]+$")
]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=20)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://\S+$")]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=256)]
# Spelled out rather than \s: JSON Schema's regexes (ECMA-262) and Python's disagree on which
# Unicode characters \s matches (U+0085), and a fuzzer finds such a gap.
_ADDRESS_PART = r"[^@ \t\r\n\f\v<>,;]+"
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
SEVERITY = "`info`, `low`, `medium`, `high` or `critical` (low to high)"
TIME = "ISO-8601 UTC"
EXAMPLE_SIGNING_KEY = "3b1f0c7a9d2e4f6a8b0c1d2e3f4a5b6c"  # documentation only


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlackConfig(Strict):
    webhook_url: Url = Field(
        description="The Slack incoming webhook URL",
        examples=["https://hooks.slack.com/services/T0/B0/x"],
    )


class PagerDutyConfig(Strict):
    routing_key: Annotated[
        str, StringConstraints(min_length=20, max_length=64, pattern=r"^\w+$")
    ] = Field(
        description="The Events API v2 integration key",
        examples=["R0ABCDEF0123456789ABCDEF01234567"],
    )
    events_url: Url | None = Field(
        default=None,
        description="Where events go; PagerDuty's own (`https://events.pagerduty.com/v2/enqueue`) "
        "when absent",
        examples=[None],
    )


class EmailConfig(Strict):
    to: Annotated[list[EmailAddress], Field(min_length=1, max_length=10)] = Field(
        description="Recipients, 1 to 10", examples=[["oncall@example.com"]]
    )


class WebhookConfig(Strict):
    url: Url = Field(
        description="Where each notification is POSTed",
        examples=["https://hooks.example.com/alerts"],
    )
    secret: Secret = Field(
        description="Signs each body: `X-Cognition-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "
        '"<t>.<body>")>`; 16 to 256 characters',
        examples=[EXAMPLE_SIGNING_KEY],
    )


class _Channel(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="A name for people", examples=["on-call webhook"]
    )
    min_severity: Severity = Field(
        default="info", description=f"The lowest severity delivered: {SEVERITY}", examples=["high"]
    )
    match: Labels = Field(
        default_factory=dict,
        description="Only alerts whose labels hold every one of these",
        examples=[{"team": "billing"}],
        json_schema_extra={"additionalProperties": False},
    )
    rate_limit_per_minute: int = Field(
        default=30,
        ge=1,
        le=600,
        description="At most this many notifications a minute (a token bucket); the rest go "
        "out together as one digest naming them all",
        examples=[10],
    )


CONFIG_NOTE = "Stored encrypted and never returned"


class SlackChannel(_Channel):
    type: Literal["slack"] = Field(description="Slack incoming webhook", examples=["slack"])
    config: SlackConfig = Field(description=CONFIG_NOTE)


class PagerDutyChannel(_Channel):
    type: Literal["pagerduty"] = Field(
        description="PagerDuty Events API v2", examples=["pagerduty"]
    )
    config: PagerDutyConfig = Field(description=CONFIG_NOTE)


class EmailChannel(_Channel):
    type: Literal["email"] = Field(description="Email through SES", examples=["email"])
    config: EmailConfig = Field(description=CONFIG_NOTE)


class WebhookChannel(_Channel):
    type: Literal["webhook"] = Field(description="A signed HTTPS POST", examples=["webhook"])
    config: WebhookConfig = Field(description=CONFIG_NOTE)


# The body of POST /v1/alerts/channels: `type` says which `config` it carries.
ChannelCreate = Annotated[
    SlackChannel | PagerDutyChannel | EmailChannel | WebhookChannel,
    Field(discriminator="type"),
]


class ChannelCreated(BaseModel):
    channel_id: str = Field(description="The new channel's id", examples=["ch_5f0c7a9d2e4f6a8b"])


class RuleCreate(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        examples=["Payments failing"]
    )
    metric: Annotated[
        str, StringConstraints(max_length=200, pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")
    ] = Field(
        description="The metric watched: `billing.payments_failed`, `billing.events_failed`, "
        "`billing.mrr`, `agents.cost_usd`, `agents.runs_failed`, "
        "`audit.verification_failures`, `queue.<name>.dlq_depth`",
        examples=["billing.payments_failed"],
    )
    comparison: Comparison = Field(
        description="`value <comparison> threshold` fires", examples=[">="]
    )
    threshold: StrictFloat = Field(
        ge=-1e15, le=1e15, description="From -10^15 to 10^15", examples=[3]
    )
    window_minutes: int = Field(
        ge=1,
        le=1440,
        description="A counter is summed over it; a gauge is its newest value",
        examples=[60],
    )
    severity: Severity = Field(description=SEVERITY, examples=["high"])
    summary: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="The alert's text; `{value}`, `{threshold}` and `{<label>}` are filled in",
        examples=["{value} payments failed in the last hour"],
    )
    labels: Labels = Field(
        default_factory=dict,
        examples=[{"team": "billing"}],
        json_schema_extra={"additionalProperties": False},
    )
    runbook_url: (
        Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^\S+$")] | None
    ) = Field(default=None, examples=["https://wiki.example.com/runbooks/payments"])

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value


class RuleCreated(BaseModel):
    rule_id: str = Field(examples=["rule_0c7a9d2e4f6a8b1c"])


class SilenceCreate(Strict):
    match: Annotated[dict[LabelName, LabelValue], Field(min_length=1, max_length=20)] = Field(
        description="Alerts whose labels hold every one of these send nothing",
        examples=[{"team": "billing"}],
        json_schema_extra={"additionalProperties": False},
    )
    ends_at: Annotated[
        str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    ] = Field(description=f"When it ends, {TIME}; in the future", examples=["2030-01-01T00:00:00Z"])


class SilenceCreated(BaseModel):
    silence_id: str = Field(examples=["silence_0c7a9d2e4f6a8b1c"])
    ends_at: str = Field(examples=["2030-01-01T00:00:00Z"])


class AlertView(BaseModel):
    alert_id: str = Field(examples=["alert_0c7a9d2e4f6a8b1c0c7a9d2e4f6a8b1c"])
    rule_id: str = Field(examples=["rule_0c7a9d2e4f6a8b1c"])
    fingerprint: str = Field(
        description="A hash of the rule and the labels: one open alert per fingerprint",
        examples=["9f2c1d0e8b7a6f5e4d3c2b1a09f8e7d6"],
    )
    severity: Severity = Field(examples=["high"])
    status: AlertStatus = Field(examples=["firing"])
    summary: str = Field(examples=["3 payments failed in the last hour"])
    labels: dict[str, str] = Field(examples=[{"team": "billing"}])
    started_at: str = Field(description=TIME, examples=["2025-03-01T00:00:00Z"])
    runbook_url: str | None = Field(examples=["docs/runbooks/payments-failing.md"])


class Delivery(BaseModel):
    channel_id: str = Field(examples=["ch_5f0c7a9d2e4f6a8b"])
    event: Literal["firing", "acknowledged", "resolved"] = Field(examples=["firing"])
    status: Literal["sent", "retrying", "failed", "digested"] = Field(
        description="`retrying`: waiting for its next attempt (or in flight); `digested`: held "
        "back by the rate limit and named in a digest",
        examples=["sent"],
    )
    attempts: int = Field(examples=[1])
    last_error: str | None = Field(examples=[None])


class AlertDetail(AlertView):
    acknowledged_at: str | None = Field(default=None, examples=[None])
    resolved_at: str | None = Field(default=None, examples=[None])
    deliveries: list[Delivery]


class AlertPage(BaseModel):
    alerts: list[AlertView]
    next_token: str | None = Field(examples=[None])


def detail(alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> AlertDetail:
    fields = {name: alert.get(name) for name in AlertView.model_fields}
    return AlertDetail.model_validate(
        {
            **fields,
            "acknowledged_at": alert.get("acknowledged_at"),
            "resolved_at": alert.get("resolved_at"),
            "deliveries": deliveries,
        }
    )
