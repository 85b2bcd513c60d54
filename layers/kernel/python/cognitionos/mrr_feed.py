"""The MRR change feed: billing publishes each customer's MRR change records, revenue reads them.

Billing writes a record ``HISTORY#<customer> / MRR#<currency>#<effective>`` whenever a
customer's MRR changes, rewrites it when a late event reshapes the history, and marks it
``voided`` when it stops being true. Every write also (re)indexes the record in the billing
table's sparse ``mrr-feed`` index under ``MRR_CHANGES``, sorted by when it was written, so a
reader that remembers how far it read sees each record's latest state once more after any
change. Only these records carry the index's keys, so a reader allowed the index sees
nothing else of the billing table.

This module is the one description of that feed, shared by the writer and the reader,
and of the movement each change of MRR is (CONTRACT.md section 4).
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


def feed_index_keys(recorded_ms: int, customer_id: str, record_key: str) -> dict[str, str]:
    """The index attributes of a record written at ``recorded_ms`` (epoch milliseconds)."""
    return {FEED_PK: FEED_PARTITION, FEED_SK: feed_position(recorded_ms, customer_id, record_key)}


def feed_position(recorded_ms: int, customer_id: str = "", record_key: str = "") -> str:
    """A position in the feed; ``feed_position(ms)`` sorts before everything written at ms."""
    head = f"{recorded_ms:013d}"
    return f"{head}#{customer_id}#{record_key}" if customer_id else head


@dataclass(frozen=True)
class FeedRecord:
    """A change record's latest state: from ``effective_at`` on, the customer's MRR in
    ``currency`` is ``mrr_to`` minor units, unless the record is ``voided``."""

    customer_id: str
    key: str  # "<currency>#<effective_at:011d>", unique per customer
    currency: str
    effective_at: int
    mrr_to: int
    voided: bool
    recorded_ms: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FeedRecord:
        return cls(
            customer_id=str(item["customer_id"]),
            key=str(item["sk"]).removeprefix("MRR#"),
            currency=str(item["currency"]),
            effective_at=int(item["effective_at"]),
            mrr_to=int(item["mrr_to"]),
            voided=bool(item.get("voided")),
            recorded_ms=int(item["recorded_at"]),
        )
