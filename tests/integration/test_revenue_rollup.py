"""The revenue-rollup job's core under moto: incremental runs, late records, reruns, a run
cut short, changed rates, and incremental == full recompute for any history (hypothesis)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from revenue.dal.mrr_feed import MrrFeedReader
from revenue.dal.rollup_store import RevenueStore, RollupBusy
from revenue.logic import rollup
from revenue.logic.fx import FxRates, MissingRate
from revenue.logic.months import Month, parse_month
from revenue.logic.rollup import run_rollup
from revenue.logic.totals import MonthTotals
from revenue.logic.views import MonthSeries
from tests.revenue_fixtures import FeedWriter, at, feed_table, revenue_table

USD = FxRates.parse("usd", '{"eur": 1.1}')
EVERY_MONTH = (parse_month("2020-01"), parse_month("2030-12"))  # well around the test data


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.resource("dynamodb", region_name="us-east-1")


class Rig:
    def __init__(self, dynamodb: Any) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.billing = feed_table(dynamodb, f"billing-{suffix}")
        self.revenue = revenue_table(dynamodb, f"revenue-{suffix}")
        self.feed = FeedWriter(self.billing)

    def rollup(self, now: str, fx: FxRates = USD, *, full: bool = False) -> rollup.RollupSummary:
        return run_rollup(
            RevenueStore(self.revenue), MrrFeedReader(self.billing), fx, at(now), full=full
        )

    def months(self) -> dict[Month, dict[str, Any]]:
        """Stored months from the first with anything in it: the months before read as
        nothing whether or not an item holds them (an incremental run may have written them
        before a record was voided; a full recompute starts at the first record)."""
        stored = sorted(RevenueStore(self.revenue).months(*EVERY_MONTH).items())
        empty = MonthTotals().to_item()
        while stored and stored[0][1].to_item() == empty:
            stored.pop(0)
        return {m: t.to_item() for m, t in stored}

    def series(self) -> MonthSeries:
        return MonthSeries(RevenueStore(self.revenue).months(*EVERY_MONTH))


@pytest.fixture
def rig(dynamodb: Any) -> Rig:
    return Rig(dynamodb)


def test_a_late_record_corrects_its_month_and_every_later_one_only(rig: Rig) -> None:
    rig.feed.put("cus_a", "usd", at("2025-01-10"), 5000)
    rig.feed.put("cus_b", "usd", at("2025-02-10"), 2000)
    rig.rollup("2025-06-15")
    before = rig.months()

    rig.feed.put("cus_a", "usd", at("2025-04-01"), 7000)  # an upgrade reported late
    summary = rig.rollup("2025-06-15")

    after = rig.months()
    assert summary.months_updated == ("2025-04", "2025-05", "2025-06")
    assert {m: after[m] for m in after if m < parse_month("2025-04")} == {
        m: before[m] for m in before if m < parse_month("2025-04")
    }
    figures = [rig.series().figures(parse_month(m)) for m in ("2025-03", "2025-04", "2025-06")]
    assert [f.mrr_end for f in figures] == [7000, 9000, 9000]
    assert figures[1].expansion == 2000


def test_a_rerun_with_nothing_new_changes_nothing(rig: Rig) -> None:
    rig.feed.put("cus_a", "usd", at("2025-01-10"), 5000)
    rig.rollup("2025-03-01")
    before = rig.months()
    again = rig.rollup("2025-03-01")
    assert (again.mode, again.customers_changed, again.months_updated) == ("incremental", 0, ())
    assert rig.months() == before


def test_a_new_month_is_carried_forward_without_movements(rig: Rig) -> None:
    rig.feed.put("cus_a", "usd", at("2025-01-10"), 5000)
    rig.rollup("2025-01-20")
    summary = rig.rollup("2025-03-02")
    assert summary.months_updated == ("2025-02", "2025-03")
    march = rig.series().figures(parse_month("2025-03"))
    assert (march.mrr_start, march.new, march.mrr_end, march.customers_end) == (5000, 0, 5000, 1)


def test_a_voided_record_takes_its_movement_back(rig: Rig) -> None:
    rig.feed.put("cus_a", "usd", at("2025-01-10"), 5000)
    wrong = rig.feed.put("cus_a", "usd", at("2025-02-10"), 0)
    rig.rollup("2025-03-01")
    assert rig.series().figures(parse_month("2025-02")).churn == 5000
    rig.feed.void(wrong)  # billing learnt the cancellation was undone
    rig.rollup("2025-03-01")
    feb = rig.series().figures(parse_month("2025-02"))
    assert (feb.churn, feb.mrr_end, feb.customers_end) == (0, 5000, 1)


def test_a_currency_without_a_rate_fails_the_run_naming_it_and_writes_nothing(rig: Rig) -> None:
    rig.feed.put("cus_a", "usd", at("2025-01-10"), 5000)
    rig.rollup("2025-01-20")
    before = rig.months()
    rig.feed.put("cus_b", "gbp", at("2025-01-12"), 3000)
    with pytest.raises(MissingRate, match="no exchange rate for 'gbp' in COGNITION_FX_RATES"):
        rig.rollup("2025-01-20")
    assert rig.months() == before
    # Configuring the rate changes the conversion: the next run recomputes everything.
    summary = rig.rollup("2025-01-20", FxRates.parse("usd", '{"gbp": 1.25}'))
    assert (summary.mode, summary.reason) == (
        "full",
        "the reporting currency or exchange rates changed",
    )
    assert rig.series().figures(parse_month("2025-01")).mrr_end == 5000 + 3750


def test_only_one_run_at_a_time(rig: Rig) -> None:
    store = RevenueStore(rig.revenue)
    store.acquire_lease("run-1", 900)
    with pytest.raises(RollupBusy, match="another revenue-rollup run is in progress"):
        RevenueStore(rig.revenue).acquire_lease("run-2", 900)
    store.release_lease("run-1")
    RevenueStore(rig.revenue).acquire_lease("run-2", 900)


def test_a_run_cut_short_is_finished_by_the_next_one(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.feed.put("cus_0", "usd", at("2025-01-01"), 100)
    rig.rollup("2025-01-02")
    for n in range(7):
        rig.feed.put(f"cus_{n}", "usd", at(f"2025-0{1 + n % 5}-15"), 1000 * (n + 1))
    monkeypatch.setattr(rollup, "CHUNK_CUSTOMERS", 2)
    commits = 0
    real_commit = RevenueStore.commit

    def crash_on_third(self: RevenueStore, *args: Any, **kwargs: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == 3:
            raise ConnectionError("the Lambda timed out here")
        real_commit(self, *args, **kwargs)

    monkeypatch.setattr(RevenueStore, "commit", crash_on_third)
    with pytest.raises(ConnectionError):
        rig.rollup("2025-06-01")
    monkeypatch.setattr(RevenueStore, "commit", real_commit)
    rig.rollup("2025-06-01")
    incremental = rig.months()
    rig.rollup("2025-06-01", full=True)
    assert rig.months() == incremental
    assert rig.series().figures(parse_month("2025-06")).mrr_end == sum(
        1000 * (n + 1) for n in range(7)
    )


# --- incremental == full, whatever arrives when -----------------------------------------

CUSTOMERS = ("cus_a", "cus_b", "cus_c")
DAYS = [at(f"2024-{m:02d}-{d:02d}") for m in range(1, 13) for d in (1, 15, 28)]
operation = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(("usd", "usd", "eur")),
    st.sampled_from(DAYS),
    st.sampled_from((0, 0, 1500, 3000, 4999, 12000)),
    st.booleans(),  # void the record instead, if it exists
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(operation, min_size=1, max_size=6), min_size=1, max_size=5))
def test_incremental_runs_equal_a_full_recompute(dynamodb: Any, batches: list[list[Any]]) -> None:
    rig = Rig(dynamodb)
    written: dict[tuple[str, str], Any] = {}
    now = "2024-01-01"
    for index, batch in enumerate(batches):
        for customer, currency, effective, mrr, void in batch:
            key = (customer, f"{currency}#{effective:011d}")
            if void and key in written:
                rig.feed.void(written.pop(key))
            elif not void:
                written[key] = rig.feed.put(customer, currency, effective, mrr)
        now = f"2024-{min(index * 3 + 10, 12):02d}-20"
        rig.rollup(now)
    incremental = rig.months()
    series = rig.series()
    rig.rollup(now, full=True)
    assert rig.months() == incremental
    months = sorted(incremental)
    for month in months:
        f = series.figures(month)
        assert (
            f.mrr_end
            == f.mrr_start + f.new + f.expansion + f.reactivation - f.contraction - f.churn
        )
    for earlier, later in itertools.pairwise(months):
        assert series.figures(later).mrr_start == series.figures(earlier).mrr_end
