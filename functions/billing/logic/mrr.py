"""MRR arithmetic (docs/REVENUE.md, "Definitions"): pure, exact, rounded once per subscription.

Subscription MRR = Σ items ``unit_amount * quantity * f / interval_count`` with f = 1 (month),
1/12 (year), 52/12 (week), 365/12 (day), less the discounts on the subscription at that time,
tax excluded, rounded once to whole minor units, half to even. Only ``active`` and
``past_due`` subscriptions count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

COUNTED_STATUSES = frozenset({"active", "past_due"})
INTERVAL_FACTORS = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}


@dataclass(frozen=True)
class PriceItem:
    unit_amount: int
    quantity: int
    interval: str
    interval_count: int = 1

    @classmethod
    def from_state(cls, item: Mapping[str, Any]) -> PriceItem:
        return cls(
            unit_amount=int(item.get("unit_amount") or 0),
            quantity=int(item["quantity"] if item.get("quantity") is not None else 1),
            interval=str(item.get("interval") or "month"),
            interval_count=int(item.get("interval_count") or 1),
        )


@dataclass(frozen=True)
class Discount:
    """A coupon applied to a subscription (or to every subscription of its customer).

    ``duration == "once"`` discounts one invoice only, so it never lowers MRR; ``repeating``
    ones stop at ``end``; ``forever`` ones stay while the discount is on the subscription.
    """

    id: str
    percent_off: Fraction | None = None
    amount_off: int | None = None  # per billing period, in ``currency``
    currency: str | None = None
    duration: str = "forever"
    start: int | None = None
    end: int | None = None
    subscription: str | None = None  # None: a customer-level discount

    def active_at(self, at: int) -> bool:
        if self.duration == "once":
            return False
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def applies_to(self, subscription_id: str) -> bool:
        return self.subscription in (None, subscription_id)


def item_monthly_amount(item: PriceItem) -> Fraction:
    factor = INTERVAL_FACTORS.get(item.interval)
    if factor is None:
        raise ValueError(f"unknown price interval {item.interval!r}")
    return Fraction(item.unit_amount * item.quantity) * factor / max(item.interval_count, 1)


def period_factor(items: Iterable[PriceItem]) -> Fraction:
    """Months per billing period (Stripe bills all items of a subscription on one interval)."""
    first = next(iter(items), None)
    if first is None:
        return Fraction(1)
    return INTERVAL_FACTORS[first.interval] / max(first.interval_count, 1)


def apply_discounts(
    gross: Fraction, discounts: Iterable[Discount], currency: str | None, per_month: Fraction
) -> Fraction:
    """Percentages first, then fixed amounts (converted to a month); never below zero."""
    active = sorted(discounts, key=lambda d: d.id)
    net = gross
    for discount in active:
        if discount.percent_off is not None:
            net -= net * discount.percent_off / 100
    for discount in active:
        if discount.amount_off is not None and discount.currency in (None, currency):
            net -= discount.amount_off * per_month
    return max(net, Fraction(0))


def round_half_even(value: Fraction) -> int:
    return round(value)  # Fraction.__round__ with no digits rounds half to even


def subscription_mrr(
    subscription_id: str,
    status: str | None,
    items: Iterable[PriceItem],
    discounts: Iterable[Discount],
    *,
    currency: str | None,
    at: int,
) -> int:
    """Monthly recurring revenue of one subscription at time ``at``, in minor units."""
    if status not in COUNTED_STATUSES:
        return 0
    items = list(items)
    gross = sum((item_monthly_amount(item) for item in items), Fraction(0))
    on_it = [d for d in discounts if d.applies_to(subscription_id) and d.active_at(at)]
    unique = list({d.id: d for d in on_it}.values())
    return round_half_even(apply_discounts(gross, unique, currency, period_factor(items)))
