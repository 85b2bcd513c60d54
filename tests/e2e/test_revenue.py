"""Revenue end to end: a scripted half year (tests/revenue_scenario.py) posted shuffled, with
redeliveries and duplicate events, to a runner of its own; then the revenue-rollup job on
demand; then every revenue route answers the figures worked out by hand."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.e2e.delivery import POST_THREADS, drain, post_concurrently
from tests.revenue_scenario import (
    EXPECTED_APRIL_CHURN,
    EXPECTED_JANUARY_COHORT,
    EXPECTED_MONTHS,
    EXPECTED_SUMMARY_JUNE_30,
    MONTHS,
    revenue_half_year,
)
from tests.scenarios import deliveries

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SEED = 7
FIELDS = (
    "mrr_start",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "mrr_end",
    "customers_start",
    "customers_end",
)


# Session scope: xdist may run other tests on this worker between this module's, and a
# module fixture would then be built again (the billing year took 2 x 3 min that way).
@pytest.fixture(scope="session")
def revenue_runner(start_runner: Callable[[str], AbstractContextManager[Any]]) -> Iterator[Any]:
    """A runner of its own: the session runner holds other tests' customers."""
    with start_runner("revenue") as runner:
        half_year = revenue_half_year(SEED)
        delivery = deliveries(half_year.events, SEED, duplicates=3)
        started = time.monotonic()
        with ThreadPoolExecutor(POST_THREADS) as pool:
            posted = post_concurrently(runner, delivery.posts, pool)
        drain(runner, {e["id"] for e in delivery.posts}, started)
        rollup = runner.post("/v1/admin/jobs/revenue-rollup")
        assert rollup.status_code == 200, rollup.text
        print(
            f"\n== revenue half year: {len(half_year.events)} events, {posted.posts} posts "
            f"({delivery.redeliveries} redeliveries, {delivery.duplicates} duplicates), "
            f"drained in {time.monotonic() - started:.1f} s; rollup {rollup.json()['summary']}"
        )
        yield runner


def test_the_mrr_route_answers_the_hand_computed_months(revenue_runner: Any) -> None:
    answer = revenue_runner.get("/v1/revenue/mrr", params={"start": MONTHS[0], "end": MONTHS[-1]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["currency"] == "usd"
    got = {m["month"]: tuple(m[f] for f in FIELDS) for m in body["months"]}
    assert got == EXPECTED_MONTHS


def test_the_churn_route_answers_april_s_hand_computed_rates(revenue_runner: Any) -> None:
    answer = revenue_runner.get("/v1/revenue/churn", params={"month": "2025-04"})
    assert answer.json() == EXPECTED_APRIL_CHURN


def test_the_cohorts_route_answers_the_january_cohort(revenue_runner: Any) -> None:
    answer = revenue_runner.get(
        "/v1/revenue/cohorts", params={"start": "2025-01", "end": "2025-03"}
    )
    cohorts = {c["cohort"]: c for c in answer.json()["cohorts"]}
    january = cohorts["2025-01"]
    assert january["customers"] == EXPECTED_JANUARY_COHORT["customers"]
    assert january["logo_retention"][:6] == EXPECTED_JANUARY_COHORT["logo_retention"]
    assert january["revenue_retention"][:6] == EXPECTED_JANUARY_COHORT["revenue_retention"]
    # February: C and D; March: B's upgrade is not a cohort, E and G are.
    assert (cohorts["2025-02"]["customers"], cohorts["2025-03"]["customers"]) == (2, 2)


def test_the_summary_route_answers_the_end_of_june(revenue_runner: Any) -> None:
    answer = revenue_runner.get("/v1/revenue/summary", params={"as_of": "2025-06-30"})
    assert answer.json() == EXPECTED_SUMMARY_JUNE_30


def test_the_forecast_route_projects_twelve_months_with_a_band(revenue_runner: Any) -> None:
    body = revenue_runner.get("/v1/revenue/forecast", params={"months": 12}).json()
    assert set(body) == {"method", "points"} and body["method"]
    assert len(body["points"]) == 12
    for point in body["points"]:
        assert 0 <= point["low"] <= point["mrr"] <= point["high"]


def test_a_second_rollup_with_nothing_new_changes_no_month(revenue_runner: Any) -> None:
    summary = revenue_runner.post("/v1/admin/jobs/revenue-rollup").json()["summary"]
    assert (summary["mode"], summary["customers_changed"]) == ("incremental", 0)
    body = revenue_runner.get("/v1/revenue/mrr", params={"start": "2025-01", "end": "2025-06"})
    assert {m["month"]: m["mrr_end"] for m in body.json()["months"]} == {
        m: e[6] for m, e in EXPECTED_MONTHS.items()
    }


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/v1/revenue/mrr", {"start": "2025-06", "end": "2025-01"}, "is after end"),
        ("/v1/revenue/mrr", {"start": "2025-13"}, "start"),
        ("/v1/revenue/summary", {"as_of": "2025-02-30"}, "not a date"),
        ("/v1/revenue/forecast", {"months": 0}, "months"),
    ],
)
def test_bad_parameters_get_a_422_naming_the_problem(
    revenue_runner: Any, path: str, params: dict[str, Any], message: str
) -> None:
    answer = revenue_runner.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert message in answer.text


def test_revenue_needs_a_key_with_revenue_read_and_no_tenant(revenue_runner: Any) -> None:
    assert revenue_runner.get("/v1/revenue/summary", key=None).status_code == 401
    billing_only = revenue_runner.post(
        "/v1/api-keys", json={"name": "billing", "scopes": ["billing:read"]}
    ).json()["key"]
    assert revenue_runner.get("/v1/revenue/summary", key=billing_only).status_code == 403
    tenant = revenue_runner.post(
        "/v1/api-keys",
        json={"name": "tenant", "scopes": ["revenue:read"], "tenant_id": "cus_rv7a"},
    ).json()["key"]
    refused = revenue_runner.get("/v1/revenue/mrr", key=tenant)
    assert refused.status_code == 403 and "tenant" in refused.json()["message"]
    reader = revenue_runner.post(
        "/v1/api-keys", json={"name": "analyst", "scopes": ["revenue:read"]}
    ).json()["key"]
    assert revenue_runner.get("/v1/revenue/summary", key=reader).status_code == 200
