"""The revenue routes in process under moto, at the edges of time: a month before any revenue,
the current month, next month, year 0000, and a range that runs into the future.

One rule for every route (docs/REVENUE.md, "Which months a read answers"): a month after the
current one, or a day after today, is refused with a 422 that names it and points at the
forecast; a month before any revenue answers zeros, every rate 0 over its zero denominator.

The history, relative to the current UTC month M (the routes read the clock too):
A pays 5000 from M-3, 7000 from M-1; B pays 2000 from M-2 and leaves in M-1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from revenue.dal.mrr_feed import MrrFeedReader
from revenue.dal.rollup_store import RevenueStore
from revenue.logic.fx import FxRates
from revenue.logic.months import Month, month_start, month_text, parse_month
from revenue.logic.rollup import run_rollup
from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext
from tests.revenue_fixtures import FeedWriter

DAY = 86_400
BEFORE_ANY_DATA = "1999-01"
ZERO_RATES = {
    "customer_churn_rate": 0.0,
    "gross_mrr_churn_rate": 0.0,
    "net_mrr_churn_rate": 0.0,
    "grr": 0.0,
    "nrr": 0.0,
}


def this_month() -> Month:
    today = datetime.now(UTC).date()
    return today.year * 12 + today.month - 1


def get(
    aws: Aws, context: LambdaContext, path: str, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    from revenue.handlers.api import lambda_handler

    headers = {"authorization": f"Bearer {aws.admin_key}"}
    response = lambda_handler(http_event("GET", path, headers=headers, query=query), context)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def history(aws: Aws) -> Iterator[Month]:
    """The history above, rolled up now; the current month M."""
    from revenue import settings

    settings.api_settings.cache_clear()  # this test's tables, not an earlier test's
    m = this_month()
    feed = FeedWriter(aws.table("billing"))

    def on(month: Month, day: int) -> int:
        return month_start(month) + (day - 1) * DAY + 3600

    feed.put("cus_a", "usd", on(m - 3, 5), 5000)
    feed.put("cus_b", "usd", on(m - 2, 5), 2000)
    feed.put("cus_b", "usd", on(m - 1, 10), 0)
    feed.put("cus_a", "usd", on(m - 1, 12), 7000)
    run_rollup(
        RevenueStore(aws.table("revenue")),
        MrrFeedReader(aws.table("billing")),
        FxRates.parse("usd", "{}"),
        int(time.time()),
    )
    yield m
    settings.api_settings.cache_clear()


# ---- a month before any revenue: zeros everywhere -------------------------------------------


def test_a_month_before_any_revenue_answers_zero_movements_and_levels(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    status, body = get(aws, context, "/v1/revenue/mrr", {"start": "1999-01", "end": "1999-03"})
    assert status == 200, body
    assert [m["month"] for m in body["months"]] == ["1999-01", "1999-02", "1999-03"]
    assert {v for m in body["months"] for k, v in m.items() if k != "month"} == {0}


def test_a_month_before_any_revenue_has_every_rate_zero(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    status, body = get(aws, context, "/v1/revenue/churn", {"month": BEFORE_ANY_DATA})
    assert (status, body) == (200, {"month": BEFORE_ANY_DATA, **ZERO_RATES})


def test_the_first_month_began_with_no_one_paying_so_its_rates_are_zero_too(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    first = month_text(history - 3)
    status, body = get(aws, context, "/v1/revenue/churn", {"month": first})
    assert (status, body) == (200, {"month": first, **ZERO_RATES})


def test_a_cohort_before_any_revenue_has_no_customers_and_zero_retention_to_this_month(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    status, body = get(aws, context, "/v1/revenue/cohorts", {"start": "1999-01", "end": "1999-01"})
    assert status == 200, body
    [cohort] = body["cohorts"]
    months_to_now = history - parse_month("1999-01") + 1
    assert cohort["cohort"] == "1999-01" and cohort["customers"] == 0
    assert cohort["logo_retention"] == [0.0] * months_to_now
    assert cohort["revenue_retention"] == [0.0] * months_to_now


def test_a_day_before_any_revenue_has_no_mrr(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    status, body = get(aws, context, "/v1/revenue/summary", {"as_of": "1999-01-15"})
    assert status == 200, body
    assert {k: body[k] for k in ("mrr", "arr", "paying_customers", "arpu")} == dict.fromkeys(
        ("mrr", "arr", "paying_customers", "arpu"), 0
    )


# ---- the months with revenue, to the current one ---------------------------------------------


def test_last_month_and_the_current_month_answer_their_movements_and_rates(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    last, current = month_text(history - 1), month_text(history)
    status, body = get(aws, context, "/v1/revenue/mrr", {"start": last, "end": current})
    assert status == 200, body
    rows = {m["month"]: m for m in body["months"]}
    assert rows[last] == {
        "month": last,
        "mrr_start": 7000,
        "new": 0,
        "expansion": 2000,
        "contraction": 0,
        "churn": 2000,
        "reactivation": 0,
        "mrr_end": 7000,
        "customers_start": 2,
        "customers_end": 1,
    }
    # Nothing has happened yet this month: its start level, no movements.
    assert rows[current]["mrr_start"] == rows[current]["mrr_end"] == 7000
    moves = ("new", "expansion", "contraction", "churn", "reactivation")
    assert [rows[current][k] for k in moves] == [0] * 5

    _, rates = get(aws, context, "/v1/revenue/churn", {"month": last})
    assert rates == {
        "month": last,
        "customer_churn_rate": 0.5,
        "gross_mrr_churn_rate": 0.2857,
        "net_mrr_churn_rate": 0.0,
        "grr": 0.7143,
        "nrr": 1.0,
    }
    status, rates = get(aws, context, "/v1/revenue/churn", {"month": current})
    assert (status, rates) == (
        200,
        {"month": current, **ZERO_RATES, "grr": 1.0, "nrr": 1.0},
    )
    status, default = get(aws, context, "/v1/revenue/churn")
    assert (status, default) == (200, rates)


def test_cohorts_to_the_current_month_run_to_the_current_month(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    start = month_text(history - 3)
    status, body = get(
        aws, context, "/v1/revenue/cohorts", {"start": start, "end": month_text(history)}
    )
    assert status == 200, body
    cohorts = {c["cohort"]: c for c in body["cohorts"]}
    assert len(cohorts) == 4
    assert cohorts[start]["customers"] == 1
    assert cohorts[start]["revenue_retention"] == [1.0, 1.0, 1.4, 1.4]
    assert cohorts[month_text(history - 2)]["logo_retention"] == [1.0, 0.0, 0.0]
    assert cohorts[month_text(history)] == {
        "cohort": month_text(history),
        "customers": 0,
        "logo_retention": [0.0],
        "revenue_retention": [0.0],
    }


def test_today_s_summary_is_the_current_level(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    status, body = get(aws, context, "/v1/revenue/summary")
    assert status == 200, body
    assert (body["mrr"], body["arr"], body["paying_customers"], body["arpu"]) == (
        7000,
        84000,
        1,
        7000,
    )


# ---- next month and later: refused, the forecast is where they are ---------------------------


def _next_month() -> str:
    return month_text(this_month() + 1)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/revenue/mrr", lambda nxt: {"start": nxt, "end": nxt}),
        ("/v1/revenue/mrr", lambda nxt: {"end": nxt}),
        ("/v1/revenue/churn", lambda nxt: {"month": nxt}),
        ("/v1/revenue/churn", lambda nxt: {"month": "2030-06"}),
        ("/v1/revenue/cohorts", lambda nxt: {"start": nxt, "end": nxt}),
        ("/v1/revenue/cohorts", lambda nxt: {"start": nxt}),
    ],
)
def test_a_month_after_the_current_one_is_refused_naming_it_and_the_forecast(
    aws: Aws, context: LambdaContext, history: Month, path: str, query: Any
) -> None:
    params = query(_next_month())
    status, body = get(aws, context, path, params)
    assert status == 422, body
    future = max(params.values())
    assert f"{future} is in the future" in body["message"]
    assert f"this month is {month_text(history)}" in body["message"]
    assert "/v1/revenue/forecast" in body["message"]


def test_a_day_after_today_is_refused_naming_it_and_the_forecast(
    aws: Aws, context: LambdaContext, history: Month
) -> None:
    next_month = history + 1
    for day in (
        datetime.now(UTC).date() + timedelta(days=1),
        date(next_month // 12, next_month % 12 + 1, 1),
    ):
        status, body = get(aws, context, "/v1/revenue/summary", {"as_of": day.isoformat()})
        assert status == 422, body
        assert f"as_of {day.isoformat()} is in the future" in body["message"]
        assert "/v1/revenue/forecast" in body["message"]


@pytest.mark.parametrize("path", ["/v1/revenue/mrr", "/v1/revenue/cohorts"])
def test_a_range_that_runs_into_the_future_is_refused_naming_its_end(
    aws: Aws, context: LambdaContext, history: Month, path: str
) -> None:
    end = month_text(history + 2)
    status, body = get(aws, context, path, {"start": month_text(history - 1), "end": end})
    assert status == 422, body
    assert f"end {end} is in the future" in body["message"]
    assert "/v1/revenue/forecast" in body["message"]


# ---- year 0000 and other non-months ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/v1/revenue/mrr", {"start": "0000-01", "end": "0000-02"}, "start '0000-01'"),
        ("/v1/revenue/mrr", {"start": "2020-01", "end": "0000-12"}, "end '0000-12'"),
        ("/v1/revenue/churn", {"month": "0000-01"}, "month '0000-01'"),
        ("/v1/revenue/cohorts", {"start": "0000-06"}, "start '0000-06'"),
        ("/v1/revenue/summary", {"as_of": "0000-00-00"}, "as_of '0000-00-00'"),
        ("/v1/revenue/summary", {"as_of": "0000-01-01"}, "as_of '0000-01-01'"),
    ],
)
def test_year_0000_is_refused_with_a_readable_message(
    aws: Aws, context: LambdaContext, history: Month, path: str, query: Any, named: str
) -> None:
    status, body = get(aws, context, path, query)
    assert status == 422, body
    assert named in body["message"]
    assert "is not a" in body["message"]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/revenue/churn", {"month": "2026-00"}),
        ("/v1/revenue/churn", {"month": "2026-13"}),
        ("/v1/revenue/mrr", {"start": "26-01"}),
        ("/v1/revenue/summary", {"as_of": "2026-02-30"}),
        # sent empty: not a month, and not the default either (that is an absent parameter)
        ("/v1/revenue/churn", {"month": ""}),
        ("/v1/revenue/mrr", {"start": ""}),
        ("/v1/revenue/cohorts", {"end": ""}),
        ("/v1/revenue/summary", {"as_of": ""}),
        ("/v1/revenue/mrr", {"end": "2025-01\n"}),
    ],
)
def test_other_non_months_and_non_dates_are_refused(
    aws: Aws, context: LambdaContext, history: Month, path: str, query: Any
) -> None:
    status, body = get(aws, context, path, query)
    assert status == 422, body
    assert isinstance(body["message"], str) and body["message"]
