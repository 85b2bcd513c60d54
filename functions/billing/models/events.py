"""The Stripe event envelope we log, queue and apply, the claim check queued for a large one,
and the event log's API view."""

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


class ClaimCheck(BaseModel):
    """The queue message standing for a Stripe event too large to queue, which waits in the
    event-bodies bucket. Its ``object`` is no Stripe object's, so it is never taken for one."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    object: Literal["cognitionos.claim_check"] = "cognitionos.claim_check"
    event_id: str = Field(pattern=r"^evt_[A-Za-z0-9_]+$", max_length=128)
    key: str = Field(min_length=1, max_length=1024)
    bytes: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class EventRecord(BaseModel):
    """One entry of ``GET /v1/billing/events`` (CONTRACT.md, Billing)."""

    id: str
    type: str
    created: str
    status: EventStatus
    received_at: str
    error: str | None = None


REDERIVE: Literal["cognitionos.rederive"] = "cognitionos.rederive"


class RederiveRequest(BaseModel):
    """A message of the billing events queue that is not a Stripe event: derive a
    customer's MRR records again, because a coupon its discounts wait for became known.
    Queued in the customer's group, so it runs between that customer's events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object: Literal["cognitionos.rederive"] = REDERIVE
    customer_id: str = Field(pattern=r"^cus_[A-Za-z0-9]+$", max_length=128)
    coupon_id: str = Field(min_length=1, max_length=128)
