"""Discounts and the coupons that set their terms: pure.

Up to API version 2025-03-31.basil a discount embeds its coupon (``coupon: {...}``); from
2025-09-30.clover on it names the coupon by id (``source.coupon: "co_..."``) and webhooks
never expand it. A coupon's money terms (percent or amount off, currency, duration) never
change once it is created, so terms learnt once, from a ``coupon.*`` event, an embedded
coupon or a read from Stripe, hold for every discount made from that coupon, whatever order
they arrive in. Billing therefore stores a discount as a reference (``DiscountRef``) and
resolves its terms whenever the MRR is derived, from the coupons known by then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from billing.logic.envelope import id_of
from billing.logic.mrr import Discount

# {"percent_off": "25" | None, "amount_off": 500 | None, "currency": "usd" | None,
#  "duration": "forever" | "repeating" | "once"}; a percentage is kept as exact text.
CouponTerms = dict[str, Any]
CouponBook = Mapping[str, CouponTerms]  # coupon id -> terms
DiscountRef = dict[str, Any]  # see discount_ref

DURATIONS = frozenset({"forever", "repeating", "once"})


def coupon_terms(coupon: Mapping[str, Any]) -> CouponTerms:
    percent = coupon.get("percent_off")
    amount = coupon.get("amount_off")
    return {
        "percent_off": str(Fraction(str(percent))) if percent is not None else None,
        "amount_off": int(amount) if amount is not None else None,
        "currency": coupon.get("currency"),
        "duration": str(coupon.get("duration") or "forever"),
    }


def missing_coupon_fields(coupon: Mapping[str, Any]) -> list[str]:
    """What a coupon lacks for its terms to be known (empty: nothing)."""
    missing = []
    if coupon.get("duration") not in DURATIONS:
        missing.append("duration")
    if coupon.get("percent_off") is None and coupon.get("amount_off") is None:
        missing.append("percent_off or amount_off")
    elif coupon.get("amount_off") is not None and not coupon.get("currency"):
        missing.append("currency")
    return missing


def coupon_of(discount: Mapping[str, Any]) -> str | Mapping[str, Any] | None:
    """The discount's coupon, an id or an expanded object: ``coupon`` (basil and older) or
    ``source.coupon`` (clover on)."""
    source = discount.get("source")
    found = discount.get("coupon") or (source.get("coupon") if isinstance(source, dict) else None)
    return found if isinstance(found, (str, Mapping)) else None


def discount_ref(discount: Mapping[str, Any]) -> DiscountRef:
    """What billing stores of a Stripe discount: its coupon's id, the coupon's terms when
    the discount embeds them (else None), its window and the subscription it is on."""
    coupon = coupon_of(discount)
    embedded = coupon if isinstance(coupon, Mapping) else None
    return {
        "id": str(discount["id"]),
        "coupon_id": str(embedded.get("id")) if embedded is not None else coupon,
        "coupon": coupon_terms(embedded)
        if embedded and not missing_coupon_fields(embedded)
        else None,
        "start": discount.get("start"),
        "end": discount.get("end"),
        "subscription": id_of(discount.get("subscription")),
    }


def terms_of(ref: Mapping[str, Any], book: CouponBook) -> CouponTerms | None:
    """The discount's terms: embedded, else its coupon's from ``book``; None if unknown."""
    if "coupon_id" not in ref:  # stored before coupons were kept apart: terms inline
        return dict(ref) if ref.get("known_terms", True) else None
    if ref.get("coupon") is not None:
        return dict(ref["coupon"])
    coupon_id = str(ref.get("coupon_id"))
    return dict(book[coupon_id]) if coupon_id in book else None


def discount_of(ref: Mapping[str, Any], book: CouponBook) -> Discount | None:
    """The Discount a reference stands for, or None while its coupon's terms are unknown."""
    terms = terms_of(ref, book)
    if terms is None:
        return None
    percent = terms.get("percent_off")
    amount = terms.get("amount_off")
    return Discount(
        id=str(ref["id"]),
        percent_off=Fraction(str(percent)) if percent is not None else None,
        amount_off=int(amount) if amount is not None else None,
        currency=terms.get("currency"),
        duration=str(terms.get("duration") or "forever"),
        start=int(ref["start"]) if ref.get("start") is not None else None,
        end=int(ref["end"]) if ref.get("end") is not None else None,
        subscription=ref.get("subscription"),
    )


def unresolved_coupons(refs: Iterable[Mapping[str, Any]], book: CouponBook) -> set[str]:
    """Ids of the coupons whose terms ``refs`` need and neither embed nor find in ``book``."""
    return {
        str(ref["coupon_id"])
        for ref in refs
        if ref.get("coupon_id") and terms_of(ref, book) is None
    }
