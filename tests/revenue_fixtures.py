"""Revenue tests' shared pieces: a billing-shaped table that carries the MRR change feed, the
revenue table, and a writer that publishes change records exactly as billing does."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from billing.dal.billing_state import BillingState
from billing.logic.movements import MrrChange
from billing.logic.process import CommitPlan
from cognitionos.mrr_feed import FEED_INDEX, FEED_PK, FEED_SK, movement_kind
from tests.factories import pk_sk_table


def at(text: str) -> int:
    """``"2025-03-14"`` or ``"2025-03-14T10:00:00"`` (UTC) as epoch seconds."""
    moment = datetime.fromisoformat(text)
    return int(moment.replace(tzinfo=UTC).timestamp())


def feed_table(dynamodb: Any, name: str = "billing") -> Any:
    """A table shaped like billing's where it matters to revenue: pk/sk and the feed index."""
    return pk_sk_table(dynamodb, name, (FEED_INDEX, FEED_PK, FEED_SK))


def revenue_table(dynamodb: Any, name: str = "revenue") -> Any:
    return pk_sk_table(dynamodb, name)


@dataclass
class FeedWriter:
    """Publishes customers' record sets through billing's own data access code: ``put`` adds
    (or rewrites) one record of a customer, ``void`` takes one away, and each call writes
    the customer's whole set again, as billing does when an event changes it."""

    table: Any
    clock_ms: Iterator[int] = field(default_factory=lambda: itertools.count(1_700_000_000_000, 7))
    sets: dict[str, dict[str, MrrChange]] = field(default_factory=dict)

    def put(self, customer: str, currency: str, effective_at: int, mrr_to: int) -> MrrChange:
        record = MrrChange(
            customer, currency, effective_at, 0, mrr_to, movement_kind(0, mrr_to, False)
        )
        self.sets.setdefault(customer, {})[record.key] = record
        self._publish(customer)
        return record

    def void(self, record: MrrChange) -> None:
        self.sets.get(record.customer_id, {}).pop(record.key, None)
        self._publish(record.customer_id)

    def _publish(self, customer: str) -> None:
        records = tuple(sorted(self.sets[customer].values(), key=lambda r: r.key))
        state = BillingState(self.table, clock_ms=lambda: next(self.clock_ms))
        plan = CommitPlan(None, customer_id=customer, records=records, records_changed=True)
        assert state.commit(plan) == "committed"
