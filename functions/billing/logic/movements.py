"""A customer's MRR change records, derived from every version seen: pure, order-free.

The records are a function of the set of versions, never of the order they arrived in: a
late event inserts its version into the history and the records are derived again, so
in-order and shuffled delivery end with the same records (docs/REVENUE.md, "Definitions").
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from billing.logic.coupons import CouponBook, discount_of
from billing.logic.mrr import Discount, PriceItem, subscription_mrr
from billing.logic.versions import created_of
from cognitionos.mrr_feed import MovementKind, movement_kind, record_key

# A subscription that ends ``unpaid``, canceled for ``payment_failed``, or right after being
# ``past_due``/``unpaid``, churned for want of payment (involuntary churn).
DELINQUENT_STATUSES = frozenset({"past_due", "unpaid"})


@dataclass(frozen=True)
class SubscriptionVersion:
    subscription_id: str
    version: str  # logic/versions.py key
    effective_at: int
    status: str | None
    currency: str
    items: tuple[PriceItem, ...]
    discounts: tuple[Discount, ...]
    cancellation_reason: str | None = None
    tie_winner: bool = False  # Stripe's re-fetch chose it among versions of its second

    @classmethod
    def from_state(
        cls,
        sub_id: str,
        version: str,
        created: int,
        state: Mapping[str, Any],
        coupons: CouponBook,
        *,
        tie_winner: bool = False,
    ) -> SubscriptionVersion:
        """The version's discounts are those whose terms are known (embedded or in
        ``coupons``); the others are left out and reported as unknown by the caller."""
        refs = state.get("discounts") or []
        return cls(
            subscription_id=sub_id,
            version=version,
            effective_at=effective_time(created, state),
            status=state.get("status"),
            currency=str(state.get("currency") or "usd"),
            items=tuple(PriceItem.from_state(i) for i in state.get("items") or []),
            discounts=tuple(d for ref in refs if (d := discount_of(ref, coupons)) is not None),
            cancellation_reason=state.get("cancellation_reason"),
            tie_winner=tie_winner,
        )

    @property
    def order(self) -> tuple[int, int, bool, str]:
        """Timeline order: by effect, then within a second Stripe's choice last."""
        return (self.effective_at, created_of(self.version), self.tie_winner, self.version)


@dataclass(frozen=True)
class DiscountVersion:
    discount: Discount
    version: str
    created: int
    deleted: bool
    tie_winner: bool = False

    @property
    def order(self) -> tuple[int, bool, str]:
        return (self.created, self.tie_winner, self.version)


@dataclass(frozen=True)
class MrrChange:
    """One movement of a customer's MRR (minor units of ``currency``)."""

    customer_id: str
    currency: str
    effective_at: int
    mrr_from: int
    mrr_to: int
    kind: MovementKind
    involuntary: bool = False

    @property
    def key(self) -> str:
        return record_key(self.currency, self.effective_at)


def effective_time(created: int, state: Mapping[str, Any]) -> int:
    """When a version takes effect: the event's ``created``, or ``ended_at`` for an ended
    subscription (a deletion reported late still churns when the subscription ended)."""
    ended = state.get("ended_at")
    if state.get("status") in ("canceled", "incomplete_expired") and ended:
        return min(int(ended), created)
    return created


def mrr_changes(
    customer_id: str,
    subscriptions: Iterable[SubscriptionVersion],
    discounts: Iterable[DiscountVersion] = (),
) -> list[MrrChange]:
    """Every change of the customer's MRR, oldest first, one per currency and second."""
    by_sub: dict[str, list[SubscriptionVersion]] = defaultdict(list)
    for sub in subscriptions:
        by_sub[sub.subscription_id].append(sub)
    timelines = {s: sorted(v, key=lambda x: x.order) for s, v in by_sub.items()}
    starts = {s: [v.effective_at for v in versions] for s, versions in timelines.items()}
    by_discount: dict[str, list[DiscountVersion]] = defaultdict(list)
    for d in discounts:
        by_discount[d.discount.id].append(d)
    discount_lines = {k: sorted(v, key=lambda x: x.order) for k, v in by_discount.items()}

    points = {v.effective_at for versions in timelines.values() for v in versions}
    for versions_of_discount in discount_lines.values():
        for dv in versions_of_discount:
            points.add(dv.created)
            points.update(t for t in (dv.discount.start, dv.discount.end) if t is not None)
    for versions in timelines.values():
        for v in versions:
            points.update(d.end for d in v.discounts if d.end is not None)

    changes: list[MrrChange] = []
    current: dict[str, int] = defaultdict(int)
    sub_mrr: dict[str, int] = defaultdict(int)
    paid_before = False
    for at in sorted(points):
        customer_discounts = _discounts_at(discount_lines, at)
        totals: dict[str, int] = defaultdict(int)
        lost_involuntarily: dict[str, bool] = defaultdict(bool)
        for sub_id, versions in timelines.items():
            index = bisect.bisect_right(starts[sub_id], at) - 1
            if index < 0:
                continue
            version = versions[index]
            mrr = subscription_mrr(
                sub_id,
                version.status,
                version.items,
                (*version.discounts, *customer_discounts),
                currency=version.currency,
                at=at,
            )
            totals[version.currency] += mrr
            if mrr == 0 < sub_mrr[sub_id] and _ended_for_want_of_payment(versions, index):
                lost_involuntarily[version.currency] = True
            sub_mrr[sub_id] = mrr
        for currency in sorted(set(totals) | set(current)):
            before, after = current[currency], totals[currency]
            if before == after:
                continue
            kind = movement_kind(before, after, paid_before)
            changes.append(
                MrrChange(
                    customer_id,
                    currency,
                    at,
                    before,
                    after,
                    kind,
                    involuntary=kind == "churn" and lost_involuntarily[currency],
                )
            )
            current[currency] = after
        paid_before = paid_before or any(v > 0 for v in current.values())
    return changes


def _discounts_at(lines: Mapping[str, list[DiscountVersion]], at: int) -> list[Discount]:
    found = []
    for versions in lines.values():
        seen = [v for v in versions if v.created <= at]
        if seen and not seen[-1].deleted:
            found.append(seen[-1].discount)
    return found


def _ended_for_want_of_payment(versions: list[SubscriptionVersion], index: int) -> bool:
    version = versions[index]
    if version.status == "unpaid" or version.cancellation_reason == "payment_failed":
        return True
    return index > 0 and versions[index - 1].status in DELINQUENT_STATUSES


def customer_mrr(
    changes: Iterable[MrrChange], customer_currency: str | None, at: int
) -> tuple[str | None, int]:
    """The customer's currency and MRR at ``at``: its own currency, else the one its
    records are in (a customer Stripe has not given a currency yet)."""
    by_currency = current_mrr(changes, at)
    currency = customer_currency or next(iter(sorted(by_currency)), None)
    return currency, by_currency.get(currency or "", 0)


def current_mrr(changes: Iterable[MrrChange], at: int) -> dict[str, int]:
    """The customer's MRR per currency at ``at``, from its change records."""
    mrr: dict[str, int] = {}
    for change in sorted(changes, key=lambda c: c.effective_at):
        if change.effective_at <= at:
            mrr[change.currency] = change.mrr_to
    return mrr


def subscription_mrr_at(
    sub_id: str,
    state: Mapping[str, Any],
    discounts: Iterable[DiscountVersion],
    coupons: CouponBook,
    at: int,
) -> int:
    """One subscription's MRR at ``at``: its stored state, its own discounts and the
    customer's discounts that are on at that time."""
    lines: dict[str, list[DiscountVersion]] = defaultdict(list)
    for version in discounts:
        lines[version.discount.id].append(version)
    ordered = {k: sorted(v, key=lambda x: x.order) for k, v in lines.items()}
    refs = state.get("discounts") or []
    own = tuple(d for ref in refs if (d := discount_of(ref, coupons)) is not None)
    return subscription_mrr(
        sub_id,
        state.get("status"),
        [PriceItem.from_state(i) for i in state.get("items") or []],
        (*own, *_discounts_at(ordered, at)),
        currency=state.get("currency"),
        at=at,
    )
