"""Which events change billing state, and the state each one yields: pure, no AWS.

State is order-free: an object's stored version is the newest one seen, ordered by its
version key (``logic/versions.py``), never by arrival. Personal fields (a customer's email
and name) travel apart from the attributes, so the data access layer can encrypt them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from billing.logic.coupons import coupon_of, coupon_terms, discount_ref, missing_coupon_fields
from billing.logic.envelope import customer_of, id_of
from billing.logic.versions import content_hash, precedence, version_key
from billing.models.events import StripeEventEnvelope

Kind = Literal[
    "customer",
    "subscription",
    "invoice",
    "charge",
    "dispute",
    "checkout_session",
    "discount",
    "coupon",
]

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
        "invoice.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.marked_uncollectible",
        "invoice.voided",
    }
)
CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated", "customer.deleted"})
CHARGE_EVENTS = frozenset({"charge.refunded"})
DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.closed"})
CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
    }
)
DISCOUNT_EVENTS = frozenset(
    {"customer.discount.created", "customer.discount.updated", "customer.discount.deleted"}
)
COUPON_EVENTS = frozenset({"coupon.created", "coupon.updated", "coupon.deleted"})
# The kinds Stripe's API retrieves by id here (``StripeApi.retrieve``).
RefetchableKind = Literal["customer", "subscription", "invoice", "coupon"]
# Those re-fetched to break a tie between two versions of one second (a coupon's terms
# never change, so which of its versions wins does not matter).
REFETCHED_ON_TIE: frozenset[Kind] = frozenset({"customer", "subscription", "invoice"})
# Kinds whose versions feed a customer's MRR history (logic/movements.py).
HISTORY_KINDS: frozenset[Kind] = frozenset({"subscription", "discount"})


@dataclass(frozen=True)
class StateChange:
    """One version of one Stripe object, as billing stores it."""

    kind: Kind
    object_id: str
    customer_id: str | None
    created: int  # the event's ``created``
    attributes: dict[str, Any]
    content: str  # hash of the object's content: the same content is the same version
    personal: dict[str, str] = field(default_factory=dict)  # stored encrypted only

    @property
    def version(self) -> str:
        return version_key(self.created, precedence(self.kind, self.attributes), self.content)

    def as_stored(self) -> ObjectVersion:
        return ObjectVersion(
            self.kind,
            self.object_id,
            self.customer_id,
            self.version,
            self.created,
            self.attributes,
            self.personal,
        )


@dataclass(frozen=True)
class ObjectVersion:
    """What an object's state item holds: its current version."""

    kind: Kind
    object_id: str
    customer_id: str | None
    version: str
    created: int
    attributes: dict[str, Any]
    personal: dict[str, str] = field(default_factory=dict)


def state_change(event: StripeEventEnvelope) -> StateChange | None:
    """The state ``event`` carries, or None for a type billing does not act on."""
    kind = event_kind(event.type)
    if kind is None:
        return None
    missing = missing_fields(kind, event.data_object)
    if missing:
        raise InvalidStripeObject(
            f"{event.type} {event.object_id} lacks {', '.join(missing)}: nothing of it is stored"
        )
    return change_from_object(kind, event.data_object, event.created, event.type)


class InvalidStripeObject(ValueError):
    """A signed event whose object lacks what billing needs; the message names the fields."""


def missing_fields(kind: Kind, obj: dict[str, Any]) -> list[str]:
    """The fields ``obj`` lacks for billing to store it (empty: nothing)."""
    needed = _REQUIRED.get(kind, ())
    missing = [name for name in needed if obj.get(name) in (None, "")]
    if kind == "subscription" and not isinstance((obj.get("items") or {}).get("data"), list):
        missing.append("items.data")
    if kind == "discount" and coupon_of(obj) is None:
        missing.append("source.coupon")
    if kind == "coupon":
        missing += missing_coupon_fields(obj)
    return missing


# Fields without which a version would be stored with holes (MRR or dunning would guess).
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    "subscription": ("customer", "status"),
    "invoice": ("customer", "status"),
    "charge": ("status",),
    "dispute": ("status", "charge"),
    "checkout_session": ("status",),
    "discount": ("customer",),
}


def event_kind(event_type: str) -> Kind | None:
    for kind, types in _KINDS:
        if event_type in types:
            return kind
    return None


def change_from_object(
    kind: Kind, obj: dict[str, Any], created: int, event_type: str
) -> StateChange:
    """The change for Stripe object ``obj`` seen at ``created`` (also for a re-fetched one)."""
    personal: dict[str, str] = {}
    if kind == "subscription":
        attributes = subscription_state(obj)
    elif kind == "invoice":
        attributes = invoice_state(obj)
    elif kind == "customer":
        attributes = customer_state(obj, event_type == "customer.deleted")
        personal = {k: str(obj[k]) for k in ("email", "name") if obj.get(k)}
    elif kind == "charge":
        attributes = charge_state(obj)
    elif kind == "dispute":
        attributes = dispute_state(obj)
    elif kind == "checkout_session":
        attributes = checkout_state(obj, event_type)
    elif kind == "coupon":
        attributes = coupon_state(obj, event_type == "coupon.deleted")
    else:
        attributes = discount_attributes(obj, event_type == "customer.discount.deleted")
    return StateChange(
        kind=kind,
        object_id=str(obj["id"]),
        customer_id=customer_of(obj),
        created=created,
        attributes=attributes,
        content=content_hash({**obj, "_deleted": attributes.get("deleted", False)}),
        personal=personal,
    )


def subscription_state(sub: dict[str, Any]) -> dict[str, Any]:
    items = [_item_state(item) for item in (sub.get("items") or {}).get("data", [])]
    # ``discount`` (one, expanded) before basil; ``discounts`` (ids, or objects if expanded).
    listed = [d for d in (sub.get("discount"), *(sub.get("discounts") or [])) if d]
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
        "cancellation_reason": (sub.get("cancellation_details") or {}).get("reason"),
        # Expanded discounts, as references; ids alone come as customer.discount events.
        "discounts": [discount_ref(d) for d in listed if isinstance(d, dict)],
        "discount_ids": sorted({id_of(d) or "" for d in listed} - {""}),
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


def charge_state(charge: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": charge.get("status"),
        "currency": charge.get("currency"),
        "amount": charge.get("amount"),
        "amount_refunded": charge.get("amount_refunded") or 0,
        "refunded": bool(charge.get("refunded")),
        "invoice": id_of(charge.get("invoice")),
        "payment_intent": id_of(charge.get("payment_intent")),
        "disputed": bool(charge.get("disputed")),
    }


def dispute_state(dispute: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": dispute.get("status"),
        "currency": dispute.get("currency"),
        "amount": dispute.get("amount"),
        "reason": dispute.get("reason"),
        "charge": id_of(dispute.get("charge")),
        "payment_intent": id_of(dispute.get("payment_intent")),
    }


def checkout_state(session: dict[str, Any], event_type: str) -> dict[str, Any]:
    # An asynchronous payment (bank debit) settles after completion: its own event says how.
    payment_status = session.get("payment_status")
    if event_type == "checkout.session.async_payment_failed":
        payment_status = "failed"
    elif event_type == "checkout.session.async_payment_succeeded":
        payment_status = "paid"
    return {
        "status": session.get("status"),
        "mode": session.get("mode"),
        "payment_status": payment_status,
        "subscription": id_of(session.get("subscription")),
        "invoice": id_of(session.get("invoice")),
        "currency": session.get("currency"),
        "amount_total": session.get("amount_total"),
    }


def discount_attributes(discount: dict[str, Any], deleted: bool) -> dict[str, Any]:
    return {**discount_ref(discount), "deleted": deleted}


def coupon_state(coupon: dict[str, Any], deleted: bool) -> dict[str, Any]:
    """A coupon's terms; deleting a coupon leaves the discounts made from it as they are."""
    return {**coupon_terms(coupon), "deleted": deleted or bool(coupon.get("deleted"))}


_KINDS: tuple[tuple[Kind, frozenset[str]], ...] = (
    ("subscription", SUBSCRIPTION_EVENTS),
    ("invoice", INVOICE_EVENTS),
    ("customer", CUSTOMER_EVENTS),
    ("charge", CHARGE_EVENTS),
    ("dispute", DISPUTE_EVENTS),
    ("checkout_session", CHECKOUT_EVENTS),
    ("discount", DISCOUNT_EVENTS),
    ("coupon", COUPON_EVENTS),
)
