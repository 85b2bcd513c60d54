"""The Stripe event envelope we log, queue and apply, the claim check queued for a large one,
and the event log's API view."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventStatus = Literal["queued", "processed", "ignored", "failed"]
EVENT_ID = r"^evt_[A-Za-z0-9_]+$"
# The event log orders events by ``created`` in 11 digits (through the year 5138).
MAX_CREATED = 99_999_999_999
# An object or customer id becomes the FIFO queue's message group: 1-128 printable ASCII
# characters without spaces, which every Stripe id is.
QUEUE_GROUP_ID = r"^[!-~]{1,128}$"


class StripeEventEnvelope(BaseModel):
    """The fields of a Stripe Event that routing, logging and ordering need."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=EVENT_ID, max_length=128)
    object: Literal["event"]
    type: str = Field(min_length=1, max_length=128)
    created: int = Field(ge=0, le=MAX_CREATED)
    api_version: str | None = None
    livemode: bool = False
    object_id: str = Field(pattern=QUEUE_GROUP_ID)
    customer_id: str | None = Field(pattern=QUEUE_GROUP_ID)
    data_object: dict[str, Any]


# The documented request body of ``POST /webhooks/stripe``: what ``envelope_from`` takes
# for an event (logic/envelope.py). Stripe sends more fields; they are kept, not read.
STRIPE_EVENT_SCHEMA: dict[str, Any] = {
    "title": "StripeEvent",
    "description": "A Stripe Event, as Stripe sends it to a webhook endpoint",
    "type": "object",
    "required": ["id", "object", "type", "created", "data"],
    "properties": {
        "id": {
            "type": "string",
            "pattern": EVENT_ID,
            "maxLength": 128,
            "examples": ["evt_1QZ3nKFx8cLr0aB2"],
        },
        "object": {"const": "event"},
        "type": {"type": "string", "minLength": 1, "maxLength": 128, "examples": ["invoice.paid"]},
        "created": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_CREATED,
            "description": "Unix time (seconds) when Stripe created the event",
            "examples": [1740787204],
        },
        "api_version": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "The Stripe API version the event is rendered in",
            "examples": ["2025-09-30.clover"],
        },
        "livemode": {"type": "boolean"},
        "data": {
            "type": "object",
            "required": ["object"],
            "properties": {
                "object": {
                    "type": "object",
                    "description": "The Stripe object the event is about",
                    "required": ["id"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "pattern": QUEUE_GROUP_ID,
                            "examples": ["in_1QZ3nJFx8cLr0aB2"],
                        },
                        "object": {"type": "string", "examples": ["invoice"]},
                        "customer": {
                            "description": "The customer it belongs to: an id, an expanded "
                            "customer, or null",
                            "examples": ["cus_NffrFeUfNV2Hib"],
                            "anyOf": [
                                {"type": "string", "pattern": QUEUE_GROUP_ID},
                                {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string", "pattern": QUEUE_GROUP_ID}
                                    },
                                },
                                {"type": "null"},
                            ],
                        },
                    },
                },
                "previous_attributes": {"type": "object"},
            },
        },
    },
}


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
    """A Stripe event as the event log keeps it: metadata only, never the payload."""

    id: str = Field(description="Stripe's event id", examples=["evt_1QZ3nKFx8cLr0aB2"])
    type: str = Field(description="Stripe's event type", examples=["invoice.paid"])
    created: str = Field(
        description="When Stripe created the event, ISO-8601 UTC", examples=["2025-03-01T00:00:04Z"]
    )
    status: EventStatus = Field(
        description=(
            "`queued`: received, not applied yet; `processed`: applied to billing state; "
            "`ignored`: a type billing does not use; `failed`: applying it failed (see "
            "`error`), it is retried"
        ),
        examples=["processed"],
    )
    received_at: str = Field(
        description="When the webhook (or the reconcile job) received it, ISO-8601 UTC",
        examples=["2025-03-01T00:00:05Z"],
    )
    error: str | None = Field(
        default=None,
        description="Why it failed, for a `failed` event; null otherwise",
        examples=[None],
    )


class EventPage(BaseModel):
    events: list[EventRecord] = Field(description="Events, newest first")
    next_token: str | None = Field(
        description="Pass it back as `next_token` for the next page; null on the last page",
        examples=[None],
    )


class WebhookReceipt(BaseModel):
    """What Stripe is answered once the event is logged and queued."""

    received: bool = Field(description="Always true: the event is logged and queued")
    duplicate: bool = Field(
        description="True when this event id was received before (a redelivery): nothing new "
        "is applied"
    )


REDERIVE: Literal["cognitionos.rederive"] = "cognitionos.rederive"


class RederiveRequest(BaseModel):
    """A message of the billing events queue that is not a Stripe event: derive a
    customer's MRR records again, because a coupon its discounts wait for became known.
    Queued in the customer's group, so it runs between that customer's events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object: Literal["cognitionos.rederive"] = REDERIVE
    customer_id: str = Field(pattern=r"^cus_[A-Za-z0-9]+$", max_length=128)
    coupon_id: str = Field(min_length=1, max_length=128)
