"""A full recompute in a process of its own, to measure its memory honestly.

``python -m tests.bench.revenue_recompute_process PAGES_DIR NOW_S CURRENCY RATES_JSON
[--tracemalloc]`` runs
``run_rollup`` (the first run: a full recompute) through ``RevenueStore`` and
``MrrFeedReader`` on boto3, with DynamoDB stood in at botocore's hook
(``dynamodb_stand_in``): the feed's pages are read from disk one at a time and the writes are
dropped, so the process holds no table, only the job. Prints one JSON line: the phases'
times, the recompute's CPU time and page faults, the peak resident set (``VmHWM``: the
whole process, as Lambda's "Max Memory Used"), and with ``--tracemalloc`` the peak of the
Python allocations made by the recompute alone (tracemalloc slows allocation down, so its
times are not the ones to read).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path


def _memory_mb(field: str) -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` of this process. Not ``ru_maxrss``: Linux
    carries that over exec from the forked parent, here a process holding moto's tables."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def main(pages_dir: str, now_s: int, fx_args: list[str], traced: bool) -> dict[str, object]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    import boto3

    from revenue.dal.mrr_feed import MrrFeedReader
    from revenue.dal.rollup_store import RevenueStore
    from revenue.logic.fx import FxRates
    from revenue.logic.rollup import run_rollup
    from tests.bench.dynamodb_stand_in import DiscardedWrites, FeedPages
    from tests.bench.rollup_costs import TimedFeed, TimedStore

    fx = FxRates.parse(*fx_args)

    dynamodb = boto3.resource("dynamodb")
    stand_in = DiscardedWrites(FeedPages.load(Path(pages_dir)))
    dynamodb.meta.client.meta.events.register_first("before-send.dynamodb", stand_in)
    feed = TimedFeed(MrrFeedReader(dynamodb.Table("billing")))
    store = TimedStore(RevenueStore(dynamodb.Table("revenue")))
    store.state()  # the client's first call (endpoint, models) is not the recompute's
    store.seconds.clear()
    rss_before = _memory_mb("VmRSS")
    if traced:
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    summary = run_rollup(store, feed, fx, now_s)
    wall = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    found: dict[str, object] = {}
    if traced:
        found["tracemalloc_peak_mb"] = (tracemalloc.get_traced_memory()[1] - traced_before) / 2**20
        tracemalloc.stop()
    writes = sum(store.seconds[m] for m in ("begin_full", "put_customers", "replace_months"))
    return found | {
        "mode": summary.mode,
        "sets_read": feed.sets,
        "records_read": summary.records_read,
        "customers": summary.customers_changed,
        "months": len(summary.months_updated),
        "items_written": stand_in.items_written,
        "wall_s": wall,
        "cpu_s": (used.ru_utime + used.ru_stime) - (usage.ru_utime + usage.ru_stime),
        "page_faults": (used.ru_minflt + used.ru_majflt) - (usage.ru_minflt + usage.ru_majflt),
        "read_s": feed.seconds,
        "write_s": writes + store.seconds["finish"],
        "compute_s": wall - feed.seconds - sum(store.seconds.values()),
        "rss_before_mb": rss_before,
        "rss_peak_mb": _memory_mb("VmHWM"),
    }


if __name__ == "__main__":
    pages_dir, now_s, currency, rates = sys.argv[1:5]
    print(json.dumps(main(pages_dir, int(now_s), [currency, rates], "--tracemalloc" in sys.argv)))
