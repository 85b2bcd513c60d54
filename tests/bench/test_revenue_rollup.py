"""The revenue rollup under moto at 1k, 10k and 100k customers with 24 months of history:
rounds of 1,000 record changes rolled up incrementally (target: the 100k run within 2x the
1k run), and a full recompute of 100k customers (time by phase, peak memory).

The feed holds one item per customer, its whole record set. A round is an hour's 1,000
record changes (new customers, changes now, late records in earlier months, voids), each
written as billing commits an event: the customer's whole set rewritten, in one transaction,
at the change's own time, so the feed holds each changed customer's latest set; the rollup
then reads those sets (and those the overlap re-reads) and replaces the customers' records.

moto is not DynamoDB, and the figures say where it differs rather than hide it:
- moto answers every Query by walking and sorting the whole table, O(table), where DynamoDB
  seeks in the index and reads on, O(log n + results): at 100k customers moto's walk alone
  took 65 s of a 70 s run (measured on the earlier feed of one item per record). The
  incremental runs give moto's Query of the feed DynamoDB's seek (``feed_index_seeks``: it
  walks only the items at or after the key condition's start); at 1k and 10k its answers
  are checked against moto's own. The items walked and the time inside moto are reported,
  and so is the run without any time inside moto.
- moto backs a transaction up by deep-copying the whole table once per item; those copies
  are skipped (``no_table_backups_in_transactions``): in the rollup's transactions they are
  counted and priced; in billing's 1,000 commits that write a round (setup, not timed:
  each would copy the whole billing table) they are skipped too.
- a full read of the feed through moto would take many minutes at 100k (it serializes
  each record set in ~2-3 ms, over four minutes for 100k sets, and re-walks the table for
  every page): full recomputes read it from pages serialized beforehand
  (``dynamodb_stand_in``), through boto3 as the job does; at 1k the pages are checked
  against moto's own answer and the bench's ledger, and moto's time for it is reported.
  moto's serializer also prices the incremental reads: it costs per attribute value, and a
  set is a few records of six values each.
- CPython 3.11 frees a 16 KiB chunk of its frame stack as soon as it empties, so code
  recursing back and forth across a chunk's end maps and unmaps one each time; under
  pytest's stack moto's serializer did, and multiplied a round's time. Timed runs start in
  a fresh thread (``in_fresh_thread``), from an empty frame stack as a Lambda handler does,
  and report their CPU time, kernel time and page faults: a thrashing run shows. On a busy
  machine wall time exceeds CPU time; both are reported.
``BENCH_SIZES=1000,10000`` runs fewer sizes (the first is the baseline; the full recompute
uses the last). The history is put straight into moto's tables, one item per customer shaped
by billing's own code (setup only); the rounds are written through billing's commit (setup
too, timed apart). Everything timed goes through ``run_rollup``, ``RevenueStore`` and
``MrrFeedReader`` on boto3, as the job does.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from revenue.dal.mrr_feed import MrrFeedReader
from revenue.dal.rollup_store import RevenueStore
from revenue.logic.rollup import FEED_OVERLAP_MS, run_rollup
from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.bench.dynamodb_stand_in import FeedPages
from tests.bench.revenue_history import (
    DAY,
    FX,
    FX_RATES,
    HOUR,
    NOW,
    REPORTING_CURRENCY,
    History,
)
from tests.bench.rollup_costs import (
    ListFeed,
    MemoryStore,
    TimedFeed,
    TimedStore,
    feed_index_seeks,
    feed_only_client,
    in_fresh_thread,
    no_table_backups_in_transactions,
    seed_directly,
    table_copy_seconds,
    time_in_moto,
)
from tests.revenue_fixtures import feed_table, revenue_table

ROOT = Path(__file__).resolve().parents[2]
SIZES = tuple(int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(","))
MOTO_FULL_READ_MAX = 1_000  # customers: beyond, moto's full read takes minutes
SEEKS_CHECKED_MAX = 10_000  # customers: beyond, moto's own Query takes a minute a page
ROUND_CHANGES = 1_000  # record changes per round, one set write each
ROUNDS = 3
WRITES = ("begin_full", "put_customers", "replace_months", "commit", "finish")


def _label(size: int) -> str:
    return f"{size // 1000}k"


def _r(seconds: float) -> float:
    return round(seconds, 3)


@dataclass
class World:
    """One company's data in moto: the billing table with the feed, the revenue table."""

    size: int
    history: History
    billing: Any
    revenue: Any
    pages: FeedPages
    setup: dict[str, Any] = field(default_factory=dict)
    full: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.resource("dynamodb", region_name="us-east-1")


@pytest.fixture(scope="module")
def world(dynamodb: Any) -> Callable[[int], World]:
    built: dict[int, World] = {}

    def build(size: int) -> World:
        if size not in built:
            built[size] = _build(dynamodb, size)
        return built[size]

    return build


def _build(dynamodb: Any, size: int) -> World:
    started = time.perf_counter()
    history = History(size)
    billing = feed_table(dynamodb, f"billing-{size}")
    revenue = revenue_table(dynamodb, f"revenue-{size}")
    items = history.items(billing)
    made = time.perf_counter()
    seed_directly(billing.name, items)
    seeded = time.perf_counter()
    world = World(size, history, billing, revenue, FeedPages.of(items))
    world.setup = {
        "customers": size,
        "record sets (one item per customer)": len(items),
        "records in them": history.record_count,
        "make the history (s)": _r(made - started),
        "put it into moto directly (s)": _r(seeded - made),
        "serialize the feed's pages (s)": _r(time.perf_counter() - seeded),
        "feed pages": len(world.pages.bodies),
    }
    world.full = _full_recompute(world)
    # The garbage collector would walk moto's tables and the bench's ledger on every full
    # collection; a function on AWS holds neither. What is allocated from here on is walked.
    gc.collect()
    gc.freeze()
    return world


def _full_recompute(world: World) -> dict[str, Any]:
    """The first run: a full recompute into the empty revenue table, its feed read from the
    prepared pages; then the same recompute in memory, which must store the same totals."""
    reader = feed_only_client(world.pages)
    feed = TimedFeed(MrrFeedReader(reader.Table(world.billing.name)))
    store = TimedStore(RevenueStore(world.revenue))
    with time_in_moto() as in_moto:
        summary, cost = in_fresh_thread(lambda: run_rollup(store, feed, FX, NOW))
    wall = cost.wall_s
    assert summary.mode == "full"
    assert feed.sets == len(world.history.ledger)
    assert summary.records_read == world.history.record_count

    pure_feed = TimedFeed(ListFeed(world.history.feed()))
    memory = MemoryStore()
    _, pure_cost = in_fresh_thread(lambda: run_rollup(memory, pure_feed, FX, NOW, full=True))
    pure = pure_cost.wall_s - pure_feed.seconds
    assert _stored(world) == {m: t.to_item() for m, t in memory.totals.items()}

    writes = sum(store.seconds[m] for m in WRITES)
    return {
        "wall (s)": _r(wall),
        "  CPU (s)": _r(cost.cpu_s),
        "  of which in the kernel (s)": _r(cost.kernel_s),
        "  page faults": cost.page_faults,
        "read the feed (s)": _r(feed.seconds),
        "compute (s)": _r(wall - feed.seconds - sum(store.seconds.values())),
        "write customers + months (s)": _r(writes),
        "  of which inside moto (s)": _r(sum(in_moto.values())),
        "write calls inside moto, by operation (s)": {k: _r(v) for k, v in in_moto.items()},
        "pure recompute in memory (fold, converted_points, MonthDeltas) (s)": _r(pure),
        "record sets read": feed.sets,
        "records read": summary.records_read,
        "customers": summary.customers_changed,
        "months": len(summary.months_updated),
    }


def _stored(world: World) -> dict[int, dict[str, Any]]:
    stored = RevenueStore(world.revenue).months(2015 * 12, 2035 * 12)
    return {m: t.to_item() for m, t in stored.items()}


def _incremental_round(world: World) -> dict[str, Any]:
    changes, now_s = world.history.next_round(ROUND_CHANGES)
    with no_table_backups_in_transactions():
        started = time.perf_counter()
        world.history.write(changes, world.billing)
        written = time.perf_counter() - started
    feed = TimedFeed(MrrFeedReader(world.billing))
    store = TimedStore(RevenueStore(world.revenue))
    with (
        feed_index_seeks(world.billing.name) as seeks,
        no_table_backups_in_transactions() as skipped,
        time_in_moto() as in_moto,
        count_aws_calls() as calls,
    ):
        summary, cost = in_fresh_thread(lambda: run_rollup(store, feed, FX, now_s))
    assert summary.mode == "incremental"
    if world.size <= SEEKS_CHECKED_MAX and world.history.rounds == 1:
        _check_seeks(world, now_s)
    return {
        "now_s": now_s,
        "write": written,
        "wall": cost.wall_s,
        "cpu": cost.cpu_s,
        "kernel": cost.kernel_s,
        "page_faults": cost.page_faults,
        "feed": feed.seconds,
        "moto_query": in_moto["Query"],
        "moto": sum(in_moto.values()),
        "moto_by_operation": dict(in_moto),
        "store": dict(store.seconds),
        "calls": calls,
        "table_copies_skipped": sum(skipped.values()),
        "feed_items_walked": seeks["items walked"],
        "sets_read": feed.sets,
        "records_read": summary.records_read,
        "customers_changed": summary.customers_changed,
        "months_updated": len(summary.months_updated),
    }


def _check_seeks(world: World, now_s: int) -> None:
    """The feed read with ``feed_index_seeks`` is moto's own answer, from the round's start
    and from the middle of the history."""
    reader = MrrFeedReader(world.billing)
    for position_ms in ((now_s - HOUR) * 1000 - FEED_OVERLAP_MS, (NOW - 365 * DAY) * 1000):
        with feed_index_seeks(world.billing.name):
            seeking = list(reader.since(position_ms))
        assert seeking == list(reader.since(position_ms))


def _check_against_full(world: World, now_s: int) -> None:
    """After the incremental runs the stored totals are those of a full recompute."""
    memory = MemoryStore()
    run_rollup(memory, ListFeed(world.history.feed()), FX, now_s, full=True)
    assert _stored(world) == {m: t.to_item() for m, t in memory.totals.items()}


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def test_incremental_rollup_of_1000_record_changes_at_1k_10k_100k_customers(
    world: Callable[[int], World],
) -> None:
    figures: dict[str, Any] = {}
    baseline: dict[str, float] = {}
    for size in SIZES:
        w = world(size)
        if size <= MOTO_FULL_READ_MAX:
            figures[f"moto's own full read of the feed at {_label(size)}"] = _moto_full_read(w)
        rounds = [_incremental_round(w) for _ in range(ROUNDS)]
        _check_against_full(w, rounds[-1]["now_s"])
        wall = _median(rounds, "wall")
        ours = statistics.median(r["wall"] - r["moto"] for r in rounds)
        per_customer = statistics.median(r["wall"] / r["customers_changed"] for r in rounds)
        baseline = baseline or {"wall": wall, "ours": ours, "per_customer": per_customer}
        calls: Counter[str] = sum((r["calls"] for r in rounds), Counter())
        copy_s = table_copy_seconds(w.revenue.name)
        figures[_label(size)] = {
            "setup": w.setup,
            "rounds": ROUNDS,
            "record changes per round (each rewrites its customer's set)": ROUND_CHANGES,
            "  written one commit at a time (setup, median s)": _r(_median(rounds, "write")),
            "record sets read per round (median; the overlap re-reads some)": _median(
                rounds, "sets_read"
            ),
            "  records in them (median)": _median(rounds, "records_read"),
            "feed items moto walked per round (median)": _median(rounds, "feed_items_walked"),
            "customers changed (median)": _median(rounds, "customers_changed"),
            "months updated (median)": _median(rounds, "months_updated"),
            "incremental rollup (median s)": _r(wall),
            "  per round (s)": [_r(r["wall"]) for r in rounds],
            "  CPU per round (s; under wall when the machine is busy)": [
                _r(r["cpu"]) for r in rounds
            ],
            "  of which in the kernel (s)": [_r(r["kernel"]) for r in rounds],
            "  page faults per round": [r["page_faults"] for r in rounds],
            "  ratio to 1k": round(wall / baseline["wall"], 2),
            "  per changed customer (median ms)": round(per_customer * 1000, 2),
            "  ratio to 1k per changed customer": round(per_customer / baseline["per_customer"], 2),
            "reading the feed (median s)": _r(_median(rounds, "feed")),
            "  of which inside moto's Query (median s)": _r(_median(rounds, "moto_query")),
            "all time inside moto (median s)": _r(_median(rounds, "moto")),
            "without any time inside moto: our code + boto3 (median s)": _r(ours),
            "  ratio to 1k (our code + boto3)": round(ours / baseline["ours"], 2),
            "inside moto by operation (mean s)": _mean_by_key(rounds, "moto_by_operation"),
            "store methods (mean s)": _mean_by_key(rounds, "store"),
            "AWS calls by operation (mean per run)": {
                op: round(n / ROUNDS, 1) for op, n in sorted(calls.items())
            },
            "moto table backups skipped per run (mean)": _median(rounds, "table_copies_skipped"),
            "  one backup of the revenue table costs (s)": _r(copy_s),
            "  so moto as it is would add per run (s, estimate)": round(
                _median(rounds, "table_copies_skipped") * copy_s, 1
            ),
        }
    figures["target"] = "100k <= 2x 1k (incremental rollup, ratio to 1k)"
    report("revenue_rollup_incremental", figures)


def _mean_by_key(rounds: list[dict[str, Any]], key: str) -> dict[str, float]:
    total: Counter[str] = Counter()
    for r in rounds:
        total.update(r[key])
    return {k: _r(v / len(rounds)) for k, v in sorted(total.items())}


def _moto_full_read(w: World) -> dict[str, Any]:
    """The feed's full read through moto itself, checked against the bench's ledger and the
    prepared pages."""
    with time_in_moto() as in_moto:
        sets, cost = in_fresh_thread(lambda: list(MrrFeedReader(w.billing).since(0)))
    wall = cost.wall_s
    assert sets == w.history.feed()
    assert sets == list(MrrFeedReader(feed_only_client(w.pages).Table(w.billing.name)).since(0))
    return {
        "record sets": len(sets),
        "wall (s)": _r(wall),
        "CPU (s)": _r(cost.cpu_s),
        "inside moto (s)": _r(sum(in_moto.values())),
        "ms per set": round(wall * 1000 / len(sets), 2),
        "prepared pages equal moto's answer": True,
    }


def test_full_recompute_of_100k_customers_time_and_peak_memory(
    world: Callable[[int], World], tmp_path: Path
) -> None:
    w = world(SIZES[-1])
    w.pages.save(tmp_path / "pages")
    alone = _recompute_process(tmp_path / "pages", traced=False)
    traced = _recompute_process(tmp_path / "pages", traced=True)
    assert alone["customers"] == w.full["customers"]
    assert alone["sets_read"] == w.full["record sets read"]
    assert alone["records_read"] == w.full["records read"]
    assert alone["items_written"] >= alone["customers"]
    report(
        "revenue_full_recompute",
        {
            "customers": w.size,
            "record sets": w.full["record sets read"],
            "records": w.full["records read"],
            "months": w.full["months"],
            "in process, writes into moto": w.full,
            "own process, DynamoDB stood in (writes dropped)": {
                "wall (s)": _r(alone["wall_s"]),
                "  CPU (s)": _r(alone["cpu_s"]),
                "  page faults": alone["page_faults"],
                "read the feed (s)": _r(alone["read_s"]),
                "compute (s)": _r(alone["compute_s"]),
                "write, client side only (s)": _r(alone["write_s"]),
                "peak RSS, whole process (MB)": round(alone["rss_peak_mb"], 1),
                "RSS before the recompute (MB)": round(alone["rss_before_mb"], 1),
                "tracemalloc peak of the recompute alone (MB)": round(
                    traced["tracemalloc_peak_mb"], 1
                ),
                "peak RSS with tracemalloc on (MB)": round(traced["rss_peak_mb"], 1),
            },
        },
    )


def _recompute_process(pages: Path, *, traced: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "tests.bench.revenue_recompute_process",
        str(pages),
        str(NOW),
        REPORTING_CURRENCY,
        FX_RATES,
    ]
    paths = [ROOT, ROOT / "functions", ROOT / "layers/kernel/python"]
    out = subprocess.run(
        [*command, "--tracemalloc"] if traced else command,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)},
    )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found
