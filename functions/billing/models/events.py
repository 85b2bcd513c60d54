"""The Stripe event envelope we log, queue and apply, and the event log's API view."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventStatus = Literal["queued", "processed", "ignored", "failed"]


class StripeEventEnvelope(BaseModel):
    """The fields of a Stripe Event that routing, logging and ordering need."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=r"^evt_[A-Za-z0-9_]+$", max_length=128)
    object: Literal["event"]
    type: str = Field(min_length=1, max_length=128)
    created: int = Field(ge=0)
    api_version: str | None = None
    livemode: bool = False
    object_id: str
    customer_id: str | None
    data_object: dict[str, Any]


class EventRecord(BaseModel):
    """One entry of ``GET /v1/billing/events`` (CONTRACT.md, Billing)."""

    id: str
    type: str
    created: str
    status: EventStatus
    received_at: str
    error: str | None = None
