"""Which events change billing state, and the state each one yields: pure, no AWS.

State is order-free: an object's stored version is the newest event ``created`` seen, and an
older event never overwrites a newer one. Only non-personal fields are kept; names, emails and
addresses stay in Stripe until the privacy kernel can store them encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from billing.models.events import StripeEventEnvelope

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.marked_uncollectible",
        "invoice.voided",
    }
)
CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated", "customer.deleted"})


# What storing a change did: new state, an older version than the one stored (only the
# event's status changes), or an event processed before.
ApplyOutcome = Literal["applied", "stale", "duplicate"]


@dataclass(frozen=True)
class StateChange:
    """The newest known version of one Stripe object, as billing stores it."""

    kind: str  # "customer" | "subscription" | "invoice"
    object_id: str
    customer_id: str | None
    version: int  # the event's ``created``
    attributes: dict[str, Any]


def state_change(event: StripeEventEnvelope) -> StateChange | None:
    """The state ``event`` carries, or None for a type billing does not act on."""
    obj = event.data_object
    if event.type in SUBSCRIPTION_EVENTS:
        kind, attributes = "subscription", subscription_state(obj)
    elif event.type in INVOICE_EVENTS:
        kind, attributes = "invoice", invoice_state(obj)
    elif event.type in CUSTOMER_EVENTS:
        deleted = event.type == "customer.deleted"
        kind, attributes = "customer", customer_state(obj, deleted)
    else:
        return None
    return StateChange(kind, event.object_id, event.customer_id, event.created, attributes)


def subscription_state(sub: dict[str, Any]) -> dict[str, Any]:
    items = [_item_state(item) for item in (sub.get("items") or {}).get("data", [])]
    # 2025-03-31.basil moved the billing period onto each item; older shapes keep it here.
    period_ends = [i["current_period_end"] for i in items if i["current_period_end"]]
    return {
        "status": sub.get("status"),
        "currency": sub.get("currency") or (items[0]["currency"] if items else None),
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "canceled_at": sub.get("canceled_at"),
        "ended_at": sub.get("ended_at"),
        "trial_end": sub.get("trial_end"),
        "current_period_end": max(period_ends, default=sub.get("current_period_end")),
        "items": items,
    }


def _item_state(item: dict[str, Any]) -> dict[str, Any]:
    price = item.get("price") or item.get("plan") or {}
    recurring = price.get("recurring") or {}
    return {
        "id": item.get("id"),
        "price_id": price.get("id"),
        "product": price.get("product"),
        "unit_amount": price.get("unit_amount", price.get("amount")),
        "currency": price.get("currency"),
        "interval": recurring.get("interval", price.get("interval")),
        "interval_count": recurring.get("interval_count", price.get("interval_count", 1)),
        "quantity": item.get("quantity", 1),
        "current_period_start": item.get("current_period_start"),
        "current_period_end": item.get("current_period_end"),
    }


def invoice_state(invoice: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": invoice.get("status"),
        "subscription": invoice_subscription(invoice),
        "currency": invoice.get("currency"),
        "amount_due": invoice.get("amount_due"),
        "amount_paid": invoice.get("amount_paid"),
        "amount_remaining": invoice.get("amount_remaining"),
        "attempt_count": invoice.get("attempt_count"),
        "next_payment_attempt": invoice.get("next_payment_attempt"),
        "billing_reason": invoice.get("billing_reason"),
        "period_start": invoice.get("period_start"),
        "period_end": invoice.get("period_end"),
    }


def invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """basil: ``parent.subscription_details.subscription``; older versions: ``subscription``."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    sub = details.get("subscription") or invoice.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return sub if isinstance(sub, str) else None


def customer_state(customer: dict[str, Any], deleted: bool) -> dict[str, Any]:
    return {
        "currency": customer.get("currency"),
        "deleted": deleted or bool(customer.get("deleted")),
    }
