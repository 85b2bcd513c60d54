"""The revenue dashboard end to end: signed Stripe events over four months, the rollup run on
demand, then the page in headless Chromium with the admin key pasted, drawing what the
revenue API answers. Screenshot: tests/artifacts/dashboard-e2e.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser

from revenue.logic.months import month_start, month_text
from tests.browser import DESKTOP, ConfinedPage, browser, confined_page, usd_whole
from tests.e2e.test_billing_webhooks import wait_processed
from tests.factories import customer, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
__all__ = ["browser"]  # the module-scoped fixture, used by name

DAY = 86_400
PERIOD_MONTHS = 12  # the page's default period
MOVEMENT_FIELDS = ("mrr_start", "new", "expansion", "contraction", "churn", "reactivation")


def _this_month() -> int:
    now = datetime.now(UTC)
    return now.year * 12 + now.month - 1


def _subscription(sub_id: str, customer_id: str, unit: int, quantity: int, at: int) -> Any:
    return subscription(
        sub_id=sub_id,
        customer=customer_id,
        unit_amount=unit,
        quantity=quantity,
        period_end=at + 30 * DAY,
    )


def _history(now: int) -> list[dict[str, Any]]:
    """Three customers joining in three months, then an upgrade and a cancellation this month."""
    month = _this_month()
    joined = [month_start(month - k) + 4 * DAY for k in (3, 2, 1)]
    this_month = min(month_start(month) + 3600, now - 60)
    a = _subscription("sub_dash_a", "cus_dash_a", 2000, 1, joined[0])
    b = _subscription("sub_dash_b", "cus_dash_b", 5000, 1, joined[1])
    c = _subscription("sub_dash_c", "cus_dash_c", 2000, 3, joined[2])
    ended = {**b, "status": "canceled", "canceled_at": this_month, "ended_at": this_month}
    events = []
    for sub, at in ((a, joined[0]), (b, joined[1]), (c, joined[2])):
        events.append(stripe_event("customer.created", customer(sub["customer"]), at - 60))
        events.append(stripe_event("customer.subscription.created", sub, at))
    events.append(
        stripe_event("customer.subscription.updated", {**a, **_quantity(a, 2)}, this_month)
    )
    events.append(stripe_event("customer.subscription.deleted", ended, this_month))
    return events


def _quantity(sub: dict[str, Any], quantity: int) -> dict[str, Any]:
    [item] = sub["items"]["data"]
    return {"items": {**sub["items"], "data": [{**item, "quantity": quantity}]}}


# Session scope: xdist may run other tests on this worker between this module's, and a
# module fixture would then be built again (the billing year took 2 x 3 min that way).
@pytest.fixture(scope="session")
def rolled_up(runner: Any) -> dict[str, Any]:
    events = _history(int(time.time()))
    for event in events:
        assert runner.post_stripe(event).status_code == 200
    wait_processed(runner, {e["id"] for e in events})
    ran = runner.post("/v1/admin/jobs/revenue-rollup")
    assert ran.status_code == 200, ran.text
    return dict(ran.json())


@pytest.fixture
def page(browser: Browser, runner: Any, rolled_up: Any) -> Iterator[ConfinedPage]:
    confined = confined_page(browser, runner.url, DESKTOP)
    yield confined
    confined.page.context.close()


def _api(runner: Any, path: str, **params: Any) -> dict[str, Any]:
    answer = runner.get(path, params=params)
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    return dict(answer.json())


def test_the_page_is_served_self_contained_with_a_strict_policy(runner: Any) -> None:
    answer = runner.get("/dashboard", key=None)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "<script>" in answer.text and "Chart.js v" in answer.text


def test_the_dashboard_draws_what_the_revenue_api_answers(page: ConfinedPage, runner: Any) -> None:
    page.open_with_key(runner.admin_key)
    end = _this_month()
    window = {"start": month_text(end - PERIOD_MONTHS + 1), "end": month_text(end)}
    answered = _api(runner, "/v1/revenue/mrr", **window)
    months = sorted(answered["months"], key=lambda m: m["month"])
    # The page leaves out the months before the first revenue.
    first = next(i for i, m in enumerate(months) if any(m[f] for f in MOVEMENT_FIELDS))
    months = months[first:]
    assert len(months) >= 4  # our customers' four months at least

    assert page.dataset("mrr-chart", "MRR") == [m["mrr_end"] for m in months]
    assert page.dataset("movements-chart", "New") == [m["new"] for m in months]
    assert page.dataset("movements-chart", "Expansion") == [m["expansion"] for m in months]
    assert page.dataset("movements-chart", "Churn") == [-m["churn"] for m in months]
    assert months[-1]["expansion"] >= 2000 and months[-1]["churn"] >= 5000  # ours, this month
    rates = [_api(runner, "/v1/revenue/churn", month=m["month"]) for m in months]
    assert page.dataset("churn-chart", "Gross MRR churn") == [
        r["gross_mrr_churn_rate"] for r in rates
    ]

    cohorts = sorted(
        _api(runner, "/v1/revenue/cohorts", **window)["cohorts"], key=lambda c: c["cohort"]
    )
    rows = page.page.query_selector_all("#cohort-table tbody tr")
    # The page starts at the first cohort with customers: the months before have none to show.
    first_paying = next(i for i, c in enumerate(cohorts) if c["customers"] > 0)
    assert [r.get_attribute("data-cohort") for r in rows] == [
        c["cohort"] for c in cohorts[first_paying:]
    ]
    points = _api(runner, "/v1/revenue/forecast", months=12)["points"]
    if points:
        drawn = page.dataset("forecast-chart", "Forecast")[-len(points) :]
        assert drawn == [p["mrr"] for p in sorted(points, key=lambda p: p["month"])]
    else:
        assert page.page.is_visible("#forecast-empty")

    summary = _api(runner, "/v1/revenue/summary")
    assert summary["currency"] == "usd"  # the runner's default reporting currency
    assert page.kpi("mrr") == usd_whole(summary["mrr"])
    assert page.kpi("arr") == usd_whole(summary["arr"])
    assert page.kpi("customers") == f"{summary['paying_customers']:,}"

    assert page.outside_requests == []
    assert page.console_errors == []
    page.screenshot("dashboard-e2e.png")
