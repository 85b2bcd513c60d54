"""A customer's history: every subscription and discount version seen, Stripe's choices
between versions of one second, and the MRR change records derived from them. Pure data;
the data access layer loads and stores it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from billing.logic.coupons import CouponBook, discount_of, unresolved_coupons
from billing.logic.movements import (
    DiscountVersion,
    MrrChange,
    SubscriptionVersion,
    mrr_changes,
    subscription_mrr_at,
)
from billing.logic.state import StateChange

TieKey = tuple[str, str, int]  # (kind, object id, created)


@dataclass(frozen=True)
class HistoryEntry:
    kind: str  # "subscription" | "discount"
    object_id: str
    version: str
    created: int
    attributes: dict[str, Any]

    @classmethod
    def of(cls, change: StateChange) -> HistoryEntry:
        return cls(change.kind, change.object_id, change.version, change.created, change.attributes)


@dataclass(frozen=True)
class Derivation:
    """The records a history yields with the coupons known, and what it could not price."""

    records: tuple[MrrChange, ...]
    unknown_coupons: frozenset[str]  # coupon ids whose terms are not known yet


@dataclass(frozen=True)
class CustomerHistory:
    customer_id: str
    entries: tuple[HistoryEntry, ...] = ()
    records: tuple[MrrChange, ...] = ()  # the stored record set, oldest first
    # Stripe's choice between versions of one object in one second (a re-fetch settled it).
    ties: Mapping[TieKey, str] = field(default_factory=dict)
    awaiting_coupons: frozenset[str] = frozenset()  # as stored with the records

    def versions_of(self, kind: str, object_id: str) -> set[str]:
        return {e.version for e in self.entries if (e.kind, e.object_id) == (kind, object_id)}

    def same_second(self, kind: str, object_id: str, created: int) -> list[HistoryEntry]:
        return [
            e
            for e in self.entries
            if (e.kind, e.object_id, e.created) == (kind, object_id, created)
        ]

    def with_versions(self, changes: Iterable[StateChange]) -> CustomerHistory:
        return replace(self, entries=(*self.entries, *(HistoryEntry.of(c) for c in changes)))

    def with_tie(self, key: TieKey, winner: str) -> CustomerHistory:
        return replace(self, ties={**self.ties, key: winner})

    def newest(self, kind: str, object_id: str) -> HistoryEntry | None:
        """The object's current version: the newest second, Stripe's choice within it."""
        mine = [e for e in self.entries if (e.kind, e.object_id) == (kind, object_id)]
        return max(mine, key=self._order, default=None)

    def coupon_ids(self) -> set[str]:
        """Coupons whose terms some version needs from outside (not embedded)."""
        return {
            str(ref["coupon_id"])
            for ref in self._discount_refs()
            if ref.get("coupon_id") and ref.get("coupon") is None
        }

    def derive(self, coupons: CouponBook) -> Derivation:
        records = mrr_changes(
            self.customer_id, self.subscription_versions(coupons), self.discount_versions(coupons)
        )
        unknown = unresolved_coupons(self._discount_refs(), coupons)
        return Derivation(tuple(records), frozenset(unknown))

    def subscription_now(
        self, state: Mapping[str, Any], coupons: CouponBook, at: int
    ) -> tuple[int, bool]:
        """A subscription's MRR at ``at`` (its stored state, its own discounts and the
        customer's that are on then), and whether a discount on it has unknown terms."""
        sub_id = str(state["id"])
        mrr = subscription_mrr_at(sub_id, state, self.discount_versions(coupons), coupons, at)
        return mrr, self.terms_unknown(sub_id, state, coupons)

    def terms_unknown(self, sub_id: str, state: Mapping[str, Any], coupons: CouponBook) -> bool:
        """Whether a discount now on the subscription has terms billing does not know yet
        (its MRR is then shown without it): one of its own whose coupon is unknown, one it
        lists by id that no discount event brought, or a current discount of the customer
        on it whose coupon is unknown."""
        own = state.get("discounts") or []
        if unresolved_coupons(own, coupons):
            return True
        latest: dict[str, HistoryEntry] = {}
        for e in self.entries:
            if e.kind == "discount" and (
                e.object_id not in latest or self._order(e) > self._order(latest[e.object_id])
            ):
                latest[e.object_id] = e
        described = {str(ref["id"]) for ref in own} | set(latest)
        if set(state.get("discount_ids") or []) - described:
            return True
        on_it = [
            e.attributes
            for e in latest.values()
            if not e.attributes.get("deleted")
            and e.attributes.get("subscription") in (None, sub_id)
        ]
        return bool(unresolved_coupons(on_it, coupons))

    def subscription_versions(self, coupons: CouponBook) -> list[SubscriptionVersion]:
        return [
            SubscriptionVersion.from_state(
                e.object_id, e.version, e.created, e.attributes, coupons, tie_winner=self._won(e)
            )
            for e in self.entries
            if e.kind == "subscription"
        ]

    def discount_versions(self, coupons: CouponBook) -> list[DiscountVersion]:
        """Versions of the customer's discounts whose terms are known."""
        found = []
        for e in self.entries:
            if e.kind != "discount":
                continue
            discount = discount_of(e.attributes, coupons)
            if discount is not None:
                deleted = bool(e.attributes.get("deleted"))
                found.append(DiscountVersion(discount, e.version, e.created, deleted, self._won(e)))
        return found

    def _discount_refs(self) -> list[Mapping[str, Any]]:
        refs: list[Mapping[str, Any]] = []
        for e in self.entries:
            if e.kind == "discount":
                refs.append(e.attributes)
            elif e.kind == "subscription":
                refs.extend(e.attributes.get("discounts") or [])
        return refs

    def _won(self, entry: HistoryEntry) -> bool:
        return self.ties.get((entry.kind, entry.object_id, entry.created)) == entry.version

    def _order(self, entry: HistoryEntry) -> tuple[int, bool, str]:
        return (entry.created, self._won(entry), entry.version)
