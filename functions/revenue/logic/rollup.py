"""The revenue rollup: MRR change records in, monthly totals out, incrementally.

A run reads the change feed from where the last run stopped (less an overlap, so a set
written late by a slow writer is still seen); each entry is a customer's whole record set,
which replaces the one stored. For each customer whose records changed, the run takes its
old timeline's effect away from the months and adds the new one's, from the first month
where the two differ; a late record therefore corrects its month and every
later one, and touches nothing earlier. Customers are committed in chunks, each in one
transaction with the months as they stand after it, so a run cut short leaves consistent
totals and the next run redoes only what is left (a re-read set changes nothing).

A full recompute (the first run, a changed rate or reporting currency, or an interrupted full
run) builds every customer and month from the whole feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol

from cognitionos.mrr_feed import RecordSet
from revenue.logic.fx import FxRates
from revenue.logic.months import Month, month_of, month_text
from revenue.logic.timeline import Point, RecordValue, converted_points
from revenue.logic.totals import MonthDeltas, MonthTotals

# Records written this long before the last one read are read again: writers' clocks and
# transactions in flight, and the index's eventual consistency, stay well inside it.
FEED_OVERLAP_MS = 15 * 60 * 1000
# Customers per transaction, leaving room for the year items and the state.
CHUNK_CUSTOMERS = 50

CustomerRecords = dict[str, RecordValue]  # record key -> live record


@dataclass(frozen=True)
class RollupState:
    cursor_ms: int | None = None
    fingerprint: str | None = None
    currency: str | None = None
    horizon: Month | None = None
    generation: int = 0
    full_pending: bool = False


class ChangeFeed(Protocol):
    def since(self, cursor_ms: int) -> Iterable[RecordSet]: ...


class RollupStore(Protocol):
    def state(self) -> RollupState: ...

    def customers(self, ids: Iterable[str], generation: int) -> dict[str, CustomerRecords]: ...

    def months(self, first: Month, last: Month) -> dict[Month, MonthTotals]: ...

    def commit(
        self,
        customers: dict[str, CustomerRecords],
        months: dict[Month, MonthTotals],
        *,
        generation: int,
    ) -> None:
        """Atomically: the customers' records and the months' totals."""
        ...

    def begin_full(self, generation: int) -> None: ...

    def put_customers(self, customers: dict[str, CustomerRecords], generation: int) -> None: ...

    def replace_months(self, months: dict[Month, MonthTotals]) -> None: ...

    def finish(self, state: RollupState, last_run_at: int) -> None: ...


@dataclass(frozen=True)
class RollupSummary:
    mode: Literal["incremental", "full"]
    currency: str
    records_read: int
    customers_changed: int
    months_updated: tuple[str, ...]
    horizon: str | None
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "mode": self.mode,
            "currency": self.currency,
            "records_read": self.records_read,
            "customers_changed": self.customers_changed,
            "months_updated": len(self.months_updated),
            "first_month_updated": self.months_updated[0] if self.months_updated else None,
            "horizon": self.horizon,
        }
        if self.reason:
            found["full_recompute_because"] = self.reason
        return found


@dataclass
class _Change:
    """A customer whose live records changed; ``since`` is None when its MRR did not."""

    customer_id: str
    records: CustomerRecords
    old_points: list[Point]
    new_points: list[Point]

    @cached_property  # asked for twice per change: the run's first month and its chunk's
    def since(self) -> Month | None:
        if self.old_points == self.new_points:
            return None
        return first_difference(self.old_points, self.new_points)


def run_rollup(
    store: RollupStore, feed: ChangeFeed, fx: FxRates, now_s: int, *, full: bool = False
) -> RollupSummary:
    state = store.state()
    reason = _full_reason(state, fx, full)
    if reason:
        return _full(store, feed, fx, state, now_s, reason)
    return _incremental(store, feed, fx, state, now_s)


def _full_reason(state: RollupState, fx: FxRates, asked: bool) -> str:
    if asked:
        return "asked"
    if state.cursor_ms is None:
        return "first run"
    if state.full_pending:
        return "an earlier full recompute did not finish"
    if state.fingerprint != fx.fingerprint:
        return "the reporting currency or exchange rates changed"
    return ""


def latest_sets(sets: Iterable[RecordSet]) -> tuple[dict[str, RecordSet], int]:
    """Each customer's latest record set, and the newest write time seen."""
    found: dict[str, RecordSet] = {}
    newest = 0
    for record_set in sets:
        newest = max(newest, record_set.recorded_ms)
        seen = found.get(record_set.customer_id)
        if seen is None or record_set.recorded_ms >= seen.recorded_ms:
            found[record_set.customer_id] = record_set
    return found, newest


def live_records(record_set: RecordSet) -> CustomerRecords:
    return {r.key: RecordValue(r.currency, r.effective_at, r.mrr_to) for r in record_set.records}


def first_difference(old: list[Point], new: list[Point]) -> Month:
    """The first month in which two timelines differ (they must differ)."""
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        if a != b:
            return min(month_of(p[0]) for p in (a, b) if p is not None)
    raise ValueError("the timelines are the same")


def _incremental(
    store: RollupStore, feed: ChangeFeed, fx: FxRates, state: RollupState, now_s: int
) -> RollupSummary:
    if state.cursor_ms is None or state.horizon is None:
        raise RuntimeError("an incremental run needs an earlier run's cursor and horizon")
    by_customer, newest = latest_sets(feed.since(max(state.cursor_ms - FEED_OVERLAP_MS, 0)))
    stored = store.customers(by_customer, state.generation)
    changes: list[_Change] = []
    for customer_id, record_set in sorted(by_customer.items()):
        before = stored.get(customer_id, {})
        after = live_records(record_set)
        if after != before:
            old_points = converted_points(before.values(), fx)
            new_points = converted_points(after.values(), fx)
            changes.append(_Change(customer_id, after, old_points, new_points))
    starts = [since for c in changes if (since := c.since) is not None]
    ends = [month_of(c.new_points[-1][0]) for c in changes if c.new_points]
    horizon = max([state.horizon, month_of(now_s), *ends])
    months = _months_to_update(store, min([*starts, state.horizon]), state.horizon, horizon)
    # Months past the old horizon are new, carried forward: the first commit writes them.
    pending = {m for m in months if m > state.horizon}
    updated = set(pending)
    for chunk in _chunks(changes, CHUNK_CUSTOMERS) if changes else iter([[]]):
        deltas = MonthDeltas()
        chunk_starts = []
        for change in chunk:
            if (since := change.since) is not None:
                deltas.add_timeline(change.old_points, -1, since)
                deltas.add_timeline(change.new_points, +1, since)
                chunk_starts.append(since)
        if chunk_starts:
            for month, delta in deltas.materialize(min(chunk_starts), horizon).items():
                months[month].add(delta)
                pending.add(month)
        if chunk or pending:
            store.commit(
                {c.customer_id: c.records for c in chunk},
                {m: months[m] for m in sorted(pending)},
                generation=state.generation,
            )
        updated |= pending
        pending = set()
    store.finish(
        RollupState(
            cursor_ms=max(state.cursor_ms, newest),
            fingerprint=state.fingerprint,
            currency=state.currency,
            horizon=horizon,
            generation=state.generation,
        ),
        now_s,
    )
    return RollupSummary(
        "incremental",
        fx.reporting_currency,
        sum(len(s.records) for s in by_customer.values()),
        len(changes),
        tuple(month_text(m) for m in sorted(updated)),
        month_text(horizon),
    )


def _months_to_update(
    store: RollupStore, first: Month, old_horizon: Month, horizon: Month
) -> dict[Month, MonthTotals]:
    """Stored totals for ``first..horizon``: months before the first stored one are empty,
    months after the old horizon carry its levels forward."""
    lo = min(first, old_horizon)
    stored = store.months(lo, horizon)
    months: dict[Month, MonthTotals] = {}
    previous: MonthTotals | None = None
    for month in range(lo, horizon + 1):
        if month in stored:
            months[month] = stored[month]
        elif month > old_horizon and previous is not None:
            months[month] = previous.carried_forward()
        else:
            months[month] = MonthTotals()
        previous = months[month]
    return months


def _chunks(items: list[_Change], size: int) -> Iterator[list[_Change]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _full(  # noqa: PLR0917 (run_rollup's arguments, passed on)
    store: RollupStore,
    feed: ChangeFeed,
    fx: FxRates,
    state: RollupState,
    now_s: int,
    reason: str,
) -> RollupSummary:
    by_customer, newest = latest_sets(feed.since(0))
    customers = {cid: live_records(record_set) for cid, record_set in by_customer.items()}
    deltas = MonthDeltas()
    last_point = month_of(now_s)
    for records in customers.values():
        points = converted_points(records.values(), fx)
        if points:
            deltas.add_timeline(points, +1, since=0)
            last_point = max(last_point, month_of(points[-1][0]))
    generation = state.generation + 1
    store.begin_full(generation)
    store.put_customers(customers, generation)
    first = deltas.first_month
    months = deltas.materialize(first, last_point) if first is not None else {}
    store.replace_months(months)
    horizon = last_point
    store.finish(
        RollupState(
            cursor_ms=newest,
            fingerprint=fx.fingerprint,
            currency=fx.reporting_currency,
            horizon=horizon,
            generation=generation,
        ),
        now_s,
    )
    return RollupSummary(
        "full",
        fx.reporting_currency,
        sum(len(s.records) for s in by_customer.values()),
        sum(1 for r in customers.values() if r),
        tuple(month_text(m) for m in sorted(months)),
        month_text(horizon),
        reason,
    )
