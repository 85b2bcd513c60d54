"""A customer's history: every subscription and discount version seen, and the MRR change
records derived from them. Pure data; the data access layer loads and stores it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from billing.logic.movements import DiscountVersion, MrrChange, SubscriptionVersion
from billing.logic.mrr import discount_from_state
from billing.logic.state import StateChange


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
class CustomerHistory:
    customer_id: str
    entries: tuple[HistoryEntry, ...] = ()
    records: dict[str, MrrChange] = field(default_factory=dict)  # live records by key

    def versions_of(self, kind: str, object_id: str) -> set[str]:
        return {e.version for e in self.entries if (e.kind, e.object_id) == (kind, object_id)}

    def with_versions(self, changes: Iterable[StateChange]) -> CustomerHistory:
        return replace(self, entries=(*self.entries, *(HistoryEntry.of(c) for c in changes)))

    def subscription_versions(self) -> list[SubscriptionVersion]:
        return [
            SubscriptionVersion.from_state(e.object_id, e.version, e.created, e.attributes)
            for e in self.entries
            if e.kind == "subscription"
        ]

    def discount_versions(self) -> list[DiscountVersion]:
        return [
            DiscountVersion(
                discount_from_state(e.attributes), e.version, e.created, e.attributes["deleted"]
            )
            for e in self.entries
            if e.kind == "discount" and e.attributes.get("known_terms")
        ]

    def record_diff(self, derived: Iterable[MrrChange]) -> tuple[list[MrrChange], list[MrrChange]]:
        """Records to write (new or changed) and stored records no longer true."""
        wanted = {r.key: r for r in derived}
        puts = [r for key, r in wanted.items() if self.records.get(key) != r]
        voids = [r for key, r in self.records.items() if key not in wanted]
        return puts, voids
