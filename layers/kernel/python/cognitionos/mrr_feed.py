"""The MRR change feed: billing publishes each customer's MRR change records, revenue reads them.

Billing keeps all of a customer's change records in one item,
``HISTORY#<customer> / MRR``, and rewrites that item whole, in the same transaction as the
event that changed them, whenever a late event reshapes the history: a record set is
therefore never half written, however many records one event changes. Every write also
(re)indexes the item in the billing table's sparse ``mrr-feed`` index under
``MRR_CHANGES``, sorted by when it was written, so a reader that remembers how far it read
sees each customer's latest set once more after any change. Only these items carry the
index's keys, so a reader allowed the index sees nothing else of the billing table.

This module is the one description of that feed, shared by the writer and the reader,
and of the movement each change of MRR is (docs/REVENUE.md, "Definitions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FEED_INDEX = "mrr-feed"
FEED_PK = "feed_pk"
FEED_SK = "feed_sk"
FEED_PARTITION = "MRR_CHANGES"

MovementKind = Literal["new", "expansion", "contraction", "churn", "reactivation"]
MOVEMENTS: tuple[MovementKind, ...] = ("new", "expansion", "contraction", "churn", "reactivation")


def movement_kind(mrr_from: int, mrr_to: int, paid_before: bool) -> MovementKind:
    """0→x is new the first time and reactivation after; x→0 churn; up expansion, down
    contraction."""
    if mrr_from == 0:
        return "reactivation" if paid_before else "new"
    if mrr_to == 0:
        return "churn"
    return "expansion" if mrr_to > mrr_from else "contraction"


SET_SK = "MRR"  # the sort key of a customer's record set, under HISTORY#<customer>


def feed_index_keys(recorded_ms: int, customer_id: str) -> dict[str, str]:
    """The index attributes of a record set written at ``recorded_ms`` (epoch ms)."""
    return {FEED_PK: FEED_PARTITION, FEED_SK: feed_position(recorded_ms, customer_id)}


def feed_position(recorded_ms: int, customer_id: str = "") -> str:
    """A position in the feed; ``feed_position(ms)`` sorts before everything written at ms."""
    head = f"{recorded_ms:013d}"
    return f"{head}#{customer_id}" if customer_id else head


def record_key(currency: str, effective_at: int) -> str:
    """A record's key, unique per customer: one change per currency and second."""
    return f"{currency}#{effective_at:011d}"


@dataclass(frozen=True)
class FeedRecord:
    """From ``effective_at`` on, the customer's MRR in ``currency`` is ``mrr_to`` minor units."""

    currency: str
    effective_at: int
    mrr_to: int

    @property
    def key(self) -> str:
        return record_key(self.currency, self.effective_at)


@dataclass(frozen=True)
class RecordSet:
    """A customer's whole record set as written at ``recorded_ms``: it replaces every set
    of that customer written before (an empty set: the customer never paid after all)."""

    customer_id: str
    records: tuple[FeedRecord, ...]
    recorded_ms: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RecordSet:
        return cls(
            customer_id=str(item["customer_id"]),
            records=tuple(
                FeedRecord(str(r["currency"]), int(r["effective_at"]), int(r["mrr_to"]))
                for r in item.get("records") or []
            ),
            recorded_ms=int(item["recorded_at"]),
        )
