"""A customer's MRR over time in the reporting currency, from its live change records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from revenue.logic.fx import FxRates

# (effective_at epoch seconds, customer MRR from then on in reporting minor units)
Point = tuple[int, int]


@dataclass(frozen=True)
class RecordValue:
    """A live record: from ``effective_at`` the customer's MRR in ``currency`` is ``mrr``."""

    currency: str
    effective_at: int
    mrr: int


def converted_points(records: Iterable[RecordValue], fx: FxRates) -> list[Point]:
    """Every change of the customer's total MRR, converted per currency then summed, oldest
    first; records at the same second are one change."""
    by_time: dict[int, list[RecordValue]] = defaultdict(list)
    for record in records:
        by_time[record.effective_at].append(record)
    levels: dict[str, int] = {}
    points: list[Point] = []
    total = 0
    for at in sorted(by_time):
        for record in by_time[at]:
            levels[record.currency] = fx.convert(record.mrr, record.currency)
        now = sum(levels.values())
        if now != total:
            points.append((at, now))
            total = now
    return points
