"""Where a rollup's time goes: reading the feed, the store's calls, the time spent inside moto
(which DynamoDB would not charge the function), and what moto does that DynamoDB does not.

Also an in-memory feed and store, so that the pure part of a full recompute (taking each
customer's latest record set, ``converted_points``, ``MonthDeltas``) can be timed alone and
its totals compared with what the job stored.
"""

from __future__ import annotations

import bisect
import copy
import gc
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from unittest.mock import patch

from cognitionos.mrr_feed import FEED_INDEX, FEED_SK, RecordSet
from revenue.logic.months import Month
from revenue.logic.rollup import ChangeFeed, CustomerRecords, RollupState
from revenue.logic.totals import MonthTotals

T = TypeVar("T")


class TimedFeed:
    """A change feed that adds up the time spent fetching its record sets, and counts them."""

    def __init__(self, feed: ChangeFeed) -> None:
        self._feed = feed
        self.seconds = 0.0
        self.sets = 0

    def since(self, cursor_ms: int) -> Iterator[RecordSet]:
        sets = iter(self._feed.since(cursor_ms))
        while True:
            started = time.perf_counter()
            record_set = next(sets, None)
            self.seconds += time.perf_counter() - started
            if record_set is None:
                return
            self.sets += 1
            yield record_set


class TimedStore:
    """A rollup store that adds up the time of each of its methods."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


class ListFeed:
    def __init__(self, sets: Iterable[RecordSet]) -> None:
        self._sets = sorted(sets, key=lambda s: s.recorded_ms)

    def since(self, cursor_ms: int) -> Iterator[RecordSet]:
        return (s for s in self._sets if s.recorded_ms >= cursor_ms)


class MemoryStore:
    """The rollup store in memory, for full recomputes only (an incremental run changes the
    totals ``months`` hands out in place)."""

    def __init__(self) -> None:
        self.saved = RollupState()
        self.records: dict[str, CustomerRecords] = {}
        self.totals: dict[Month, MonthTotals] = {}

    def state(self) -> RollupState:
        return self.saved

    def customers(self, ids: Iterable[str], generation: int) -> dict[str, CustomerRecords]:
        return {i: self.records[i] for i in ids if i in self.records}

    def months(self, first: Month, last: Month) -> dict[Month, MonthTotals]:
        return {m: t for m, t in self.totals.items() if first <= m <= last}

    def commit(
        self,
        customers: dict[str, CustomerRecords],
        months: dict[Month, MonthTotals],
        *,
        generation: int,
    ) -> None:
        raise AssertionError("MemoryStore serves full recomputes only")

    def begin_full(self, generation: int) -> None:
        self.records, self.totals = {}, {}

    def put_customers(self, customers: dict[str, CustomerRecords], generation: int) -> None:
        self.records = dict(customers)

    def replace_months(self, months: dict[Month, MonthTotals]) -> None:
        self.totals = dict(months)

    def finish(self, state: RollupState, last_run_at: int) -> None:
        self.saved = state


# --- moto --------------------------------------------------------------------------------


@contextmanager
def time_in_moto() -> Iterator[Counter[str]]:
    """Seconds spent inside moto (its in-process stand-in for the AWS endpoint), by
    operation: time a function on AWS would spend waiting for DynamoDB instead."""
    from moto.core.botocore_stubber import BotocoreStubber

    seconds: Counter[str] = Counter()
    original = BotocoreStubber.__call__

    def timed(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, event_name, request, **kwargs)
        finally:
            seconds[event_name.rsplit(".", 1)[-1]] += time.perf_counter() - started

    with patch.object(BotocoreStubber, "__call__", timed):
        yield seconds


@contextmanager
def feed_index_seeks(table_name: str) -> Iterator[Counter[str]]:
    """moto answers a Query of an index by walking and sorting every item of the table, so
    the feed's read would cost O(table) here; DynamoDB seeks in the index to the key
    condition's start and reads on, O(log n + results). Here a Query of the feed index on
    ``table_name`` walks only the items at or after its start (the later of the condition's
    ``feed_sk >=`` and the page's ``ExclusiveStartKey``), found by bisecting the index's keys
    sorted once on entry (outside any timing: nothing writes the billing table during a
    rollup). moto still does all the rest: matching, sorting, paging, serializing.
    ``seeks["items walked"]`` counts what it walked."""
    from moto.dynamodb.models.table import Table

    table = moto_table(table_name)
    entries = sorted(
        (str(item.attrs[FEED_SK].value), n, item)
        for n, item in enumerate(table.all_items())
        if FEED_SK in item.attrs
    )
    keys = [position for position, _, _ in entries]
    seeks: Counter[str] = Counter()
    original = Table.query

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        if self is not table or index_name != FEED_INDEX:
            return original(self, *args, **kwargs)
        range_comparison, range_objs, start_key = args[1], args[2], args[4]
        if range_comparison not in (">=", "GE"):
            raise AssertionError(f"the feed is read with feed_sk >=, not {range_comparison}")
        low = str(range_objs[0].value)
        if start_key:
            after = start_key[FEED_SK]
            low = max(low, str(after["S"] if isinstance(after, dict) else after))
        walked = [item for _, _, item in entries[bisect.bisect_left(keys, low) :]]
        seeks["queries"] += 1
        seeks["items walked"] += len(walked)
        self.all_items = lambda: walked
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    with patch.object(Table, "query", query):
        yield seeks


@contextmanager
def no_table_backups_in_transactions() -> Iterator[Counter[str]]:
    """moto backs a transaction up by deep-copying the whole table once per item of the
    transaction (``moto/dynamodb/models/__init__.py``, ``transact_write_items``): at 100k
    customers a rollup's 20 transactions of ~52 items would copy 100k items a thousand
    times, hours; so would the thousand commits of one item each that write a round, each
    copying the billing table's 100k record sets. Here the copies are skipped and counted
    (``table_copy_seconds`` prices them). A transaction that fails cannot be rolled back
    then; it still raises, and fails the benchmark."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    skipped: Counter[str] = Counter()

    class _CopyWithoutTables:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table):
                skipped[value.name] += 1
                return value
            return copy.deepcopy(value, memo)

    with patch.object(models, "copy", _CopyWithoutTables):
        yield skipped


def feed_only_client(pages: Any) -> Any:
    """A boto3 DynamoDB resource whose calls the feed's prepared pages answer, not moto
    (botocore calls every ``before-send`` handler, so moto's is taken off this client)."""
    import boto3
    from moto.core.models import botocore_stubber

    resource = boto3.resource("dynamodb", region_name="us-east-1")
    events = resource.meta.client.meta.events
    events.unregister("before-send", botocore_stubber)
    events.register("before-send.dynamodb", pages)
    return resource


@dataclass(frozen=True)
class ThreadCost:
    """What a run cost the thread it ran in: wall and CPU seconds, the CPU's share spent
    in the kernel, and page faults."""

    wall_s: float
    cpu_s: float
    kernel_s: float
    page_faults: int


def in_fresh_thread(run: Callable[[], T]) -> tuple[T, ThreadCost]:
    """``run()`` in a thread of its own, so that it starts from an empty frame stack, as a
    Lambda handler does, and not from under pytest's frames.

    CPython 3.11 keeps its frames in 16 KiB chunks and frees a chunk as soon as it empties
    (python/cpython#142183, fixed in 3.13 and later): code that recurses back and forth
    across a chunk's end maps and unmaps a chunk every time. moto's response serializer,
    recursing into record sets' lists of maps, did so under pytest's stack: 5M mmap/munmap
    pairs of 16 KiB in two rounds at 1k (strace), whose Query took 3 to 12 times as long as
    from a plain script, by how deep the stack happened to be. Whether a run crossed such
    an edge shows in its page faults and kernel time, reported with it.
    """
    outcome: list[Any] = []

    def body() -> None:
        before = resource.getrusage(resource.RUSAGE_THREAD)
        started = time.perf_counter()
        try:
            outcome.append(run())
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_THREAD)
        user, kernel = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        faults = (after.ru_minflt - before.ru_minflt) + (after.ru_majflt - before.ru_majflt)
        outcome.append(ThreadCost(wall, user + kernel, kernel, faults))

    thread = threading.Thread(target=body, name="bench-run")
    thread.start()
    thread.join()
    result, cost = outcome
    if isinstance(result, BaseException):
        raise result
    return result, cost


@contextmanager
def gc_seconds() -> Iterator[list[float]]:
    """Seconds spent in the cyclic garbage collector; in this process it also walks moto's
    tables, which a function on AWS does not hold. ``[total, of which full collections]``"""
    spent = [0.0, 0.0]
    started = [0.0]

    def timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        elapsed = time.perf_counter() - started[0]
        spent[0] += elapsed
        if info["generation"] == 2:
            spent[1] += elapsed

    gc.callbacks.append(timer)
    try:
        yield spent
    finally:
        gc.callbacks.remove(timer)


def moto_table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(name)


def table_copy_seconds(name: str) -> float:
    """What one of the backups ``no_table_backups_in_transactions`` skips costs now."""
    started = time.perf_counter()
    copy.deepcopy(moto_table(name))
    return time.perf_counter() - started


def seed_directly(name: str, items: Iterable[dict[str, Any]]) -> int:
    """Put items straight into moto's table, past boto3 and moto's request handling (setup
    only: a few times faster than BatchWriteItem through moto)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    table = moto_table(name)
    count = 0
    for item in items:
        table.put_item({k: serializer.serialize(v) for k, v in item.items()})
        count += 1
    return count
