"""A Stripe event's envelope and the rules of intake: pure, no AWS, no Stripe SDK.

Every billing function reads events through here; only ingest verifies signatures
(``logic/webhook.py``), so only it imports the SDK at cold start.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from billing.models.events import EventStatus, StripeEventEnvelope
from cognitionos.errors import BadRequest

# A logged event that has not been applied yet is queued again when Stripe retries it:
# the earlier send may have failed after the log write, and the FIFO queue drops a
# resend within its 5-minute deduplication window anyway.
RESENDABLE: frozenset[EventStatus] = frozenset({"queued", "failed"})


def envelope_from(event: Any) -> StripeEventEnvelope:
    """The envelope of a parsed Stripe Event, or BadRequest naming what is missing."""
    if not isinstance(event, dict):
        raise BadRequest("the body is not a Stripe event: expected a JSON object")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise BadRequest("the body is not a Stripe event: data.object.id is missing")
    try:
        return StripeEventEnvelope.model_validate(
            {
                **{k: event.get(k) for k in ("id", "object", "type", "created", "api_version")},
                "livemode": bool(event.get("livemode", False)),
                "object_id": obj["id"],
                "customer_id": customer_of(obj),
                "data_object": obj,
            }
        )
    except ValidationError as exc:
        fields = ", ".join(
            _FIELDS.get(str(err["loc"][0]), str(err["loc"][0])) for err in exc.errors()
        )
        raise BadRequest(f"the body is not a Stripe event: invalid {fields}") from None


# Where the envelope's derived fields come from in the event, to name them as Stripe does.
_FIELDS = {"object_id": "data.object.id", "customer_id": "data.object.customer"}


def customer_of(obj: dict[str, Any]) -> str | None:
    """The Stripe customer an object belongs to (the object itself for a customer)."""
    if obj.get("object") == "customer":
        return str(obj["id"])
    return id_of(obj.get("customer"))


def id_of(value: Any) -> str | None:
    """The id of an expandable field: the id itself, or the expanded object's ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def message_group(event: StripeEventEnvelope) -> str:
    """FIFO group: one customer's events apply in order, one at a time."""
    return event.customer_id or event.object_id


def should_enqueue(previous_status: EventStatus | None) -> bool:
    """Queue a new event, and a known one that has not been applied yet."""
    return previous_status is None or previous_status in RESENDABLE
