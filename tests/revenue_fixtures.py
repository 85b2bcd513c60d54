"""Revenue tests' shared pieces: a billing-shaped table that carries the MRR change feed, the
revenue table, and a writer that publishes change records exactly as billing does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from billing.dal.billing_state import BillingState
from billing.logic.movements import MrrChange
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
    """Writes, rewrites and voids change records through billing's own data access code."""

    table: Any
    clock_ms: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1_700_000_000_000, 7)
    )

    def put(self, customer: str, currency: str, effective_at: int, mrr_to: int) -> MrrChange:
        record = MrrChange(
            customer, currency, effective_at, 0, mrr_to, movement_kind(0, mrr_to, False)
        )
        state = BillingState(self.table)
        state._write_one(state._record_put(record, next(self.clock_ms)))
        return record

    def void(self, record: MrrChange) -> None:
        state = BillingState(self.table)
        state._write_one({"Update": state._record_void(record, next(self.clock_ms))["Update"]})
