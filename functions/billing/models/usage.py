"""The ``usage-reports`` queue message: the id of a usage record to report to Stripe."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UsageReportMessage(BaseModel):
    """What ``cognitionos.usage.record_usage`` queues; the record itself stays in the table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usage_id: str = Field(pattern=r"^usage_[0-9a-f]{64}$")
