"""The dashboard in headless Chromium against a fixture revenue API on 127.0.0.1: what a user
sees after pasting a key, for good figures, no figures, and refused or unreachable calls.

Screenshots go to tests/artifacts/ (dashboard.png at 1440x900, dashboard-mobile.png at 390).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, Route

from tests.browser import (
    DESKTOP,
    PHONE,
    ConfinedPage,
    browser,
    confined_page,
    percent,
    usd,
    usd_whole,
)
from tests.integration.revenue_api_fixture import (
    EMPTY_KEY,
    GOOD_KEY,
    NO_SCOPE_KEY,
    REFUSED_KEY,
    FixtureApi,
    fixture_api,
)

__all__ = ["browser"]  # the module-scoped fixture, used by name


@pytest.fixture(scope="module")
def api() -> Iterator[FixtureApi]:
    with fixture_api() as running:
        yield running


@pytest.fixture
def desktop(browser: Browser, api: FixtureApi) -> Iterator[ConfinedPage]:
    confined = confined_page(browser, api.url, DESKTOP)
    yield confined
    confined.page.context.close()


@pytest.fixture
def phone(browser: Browser, api: FixtureApi) -> Iterator[ConfinedPage]:
    confined = confined_page(browser, api.url, PHONE)
    yield confined
    confined.page.context.close()


def _months(api: FixtureApi, count: int) -> list[dict[str, Any]]:
    return api.figures.public_months(api.figures.end - count + 1, api.figures.end)


def test_every_chart_draws_the_figures_the_api_answered(desktop: ConfinedPage, api: Any) -> None:
    desktop.open_with_key(GOOD_KEY)
    desktop.page.select_option("#range", "24")  # all 14 months of history
    desktop.wait_for_state("ready")
    months = _months(api, 24)
    assert len(months) == 14

    assert desktop.dataset("mrr-chart", "MRR") == [m["mrr_end"] for m in months]
    movements = desktop.chart("movements-chart")
    assert len(movements["labels"]) == 14
    assert desktop.dataset("movements-chart", "New") == [m["new"] for m in months]
    assert desktop.dataset("movements-chart", "Expansion") == [m["expansion"] for m in months]
    assert desktop.dataset("movements-chart", "Churn") == [-m["churn"] for m in months]
    assert desktop.dataset("movements-chart", "Contraction") == [-m["contraction"] for m in months]
    assert desktop.dataset("movements-chart", "Net change") == [
        m["mrr_end"] - m["mrr_start"] for m in months
    ]
    rates = [api.figures.churn(m["month"]) for m in months]
    assert desktop.dataset("churn-chart", "Customer churn") == [
        r["customer_churn_rate"] for r in rates
    ]
    assert desktop.dataset("churn-chart", "Net MRR churn") == [
        r["net_mrr_churn_rate"] for r in rates
    ]
    forecast = api.figures.forecast(12)["points"]
    assert desktop.dataset("forecast-chart", "Forecast")[-12:] == [p["mrr"] for p in forecast]
    assert desktop.dataset("forecast-chart", "Range")[-12:] == [p["high"] for p in forecast]
    assert desktop.dataset("forecast-chart", "Low")[-12:] == [p["low"] for p in forecast]
    # The forecast line starts at the last actual month, so the two lines join.
    assert desktop.dataset("forecast-chart", "Forecast")[-13] == months[-1]["mrr_end"]
    assert desktop.console_errors == []  # a CSP violation would show here

    desktop.screenshot("dashboard.png")


def test_kpi_tiles_show_the_summary_in_the_api_currency(desktop: ConfinedPage, api: Any) -> None:
    desktop.open_with_key(GOOD_KEY)
    summary = api.figures.summary()
    assert desktop.kpi("mrr") == usd_whole(summary["mrr"])
    assert desktop.kpi("arr") == usd_whole(summary["arr"])
    assert desktop.kpi("customers") == f"{summary['paying_customers']:,}"
    assert desktop.kpi("arpu") == usd(summary["arpu"])
    last_complete = api.figures.churn(_months(api, 2)[0]["month"])
    assert desktop.kpi("churn") == percent(last_complete["customer_churn_rate"])
    assert desktop.kpi("nrr") == percent(last_complete["nrr"])
    as_of = date.fromisoformat(summary["as_of"])
    assert f"As of {as_of:%b} {as_of.day}, {as_of.year}" in desktop.page.inner_text("#subtitle")


def test_the_heatmap_has_a_row_per_cohort_with_its_retention(
    desktop: ConfinedPage, api: Any
) -> None:
    desktop.open_with_key(GOOD_KEY)
    start = api.figures.end - 11
    cohorts = api.figures.cohorts(start, api.figures.end)
    rows = desktop.page.query_selector_all("#cohort-table tbody tr")
    assert [r.get_attribute("data-cohort") for r in rows] == [c["cohort"] for c in cohorts]
    for row, cohort in zip(rows, cohorts, strict=True):
        cells = [c.inner_text() for c in row.query_selector_all("td.cell:not(.blank)")]
        assert cells == [percent(v, 0) for v in cohort["logo_retention"]]

    desktop.page.click("#cohort-revenue")
    first = desktop.page.query_selector("#cohort-table tbody tr")
    assert first is not None
    revenue = [c.inner_text() for c in first.query_selector_all("td.cell:not(.blank)")]
    assert revenue == [percent(v, 0) for v in cohorts[0]["revenue_retention"]]


def test_the_key_stays_in_the_tab_and_goes_only_to_this_origin_as_a_bearer_token(
    desktop: ConfinedPage, api: FixtureApi
) -> None:
    before = len(api.seen)
    desktop.open_with_key(GOOD_KEY)
    assert desktop.session_key() == GOOD_KEY
    calls = api.seen[before:]
    assert {path.split("?")[0] for path, _ in calls} == {
        "/v1/revenue/summary",
        "/v1/revenue/mrr",
        "/v1/revenue/churn",
        "/v1/revenue/cohorts",
        "/v1/revenue/forecast",
    }
    assert {auth for _, auth in calls} == {f"Bearer {GOOD_KEY}"}
    assert desktop.outside_requests == []
    assert all(r.url.startswith(f"{api.url}/") for r in desktop.requests)

    desktop.page.reload()  # the same tab keeps the key: no need to paste it again
    desktop.wait_for_state("ready")


def test_forget_key_removes_it_and_asks_again(desktop: ConfinedPage) -> None:
    desktop.open_with_key(GOOD_KEY)
    desktop.page.click("#forget-key")
    assert desktop.session_key() is None
    assert desktop.page.is_visible("#key-form")
    assert not desktop.page.is_visible("#dashboard")
    assert "Key forgotten" in desktop.page.inner_text("#notice")


def test_a_refused_key_is_explained_and_not_kept(desktop: ConfinedPage) -> None:
    desktop.open_with_key(REFUSED_KEY, expect_state="error-refused")
    assert "This key was refused" in desktop.page.inner_text("#notice")
    assert desktop.page.is_visible("#key-form")
    assert desktop.session_key() is None


def test_a_key_without_revenue_read_is_told_so(desktop: ConfinedPage) -> None:
    desktop.open_with_key(NO_SCOPE_KEY, expect_state="error-forbidden")
    assert "lacks revenue:read" in desktop.page.inner_text("#notice")
    assert desktop.session_key() is None


def test_an_unreachable_api_says_so_and_retry_recovers(desktop: ConfinedPage, api: Any) -> None:
    def fail(route: Route) -> None:
        route.abort("internetdisconnected")

    desktop.page.route(f"{api.url}/v1/revenue/summary", fail)
    desktop.open_with_key(GOOD_KEY, expect_state="error-offline")
    assert "Could not reach the API (network error)" in desktop.page.inner_text("#notice")
    assert desktop.session_key() == GOOD_KEY  # the key was fine: keep it for the retry

    desktop.page.unroute(f"{api.url}/v1/revenue/summary", fail)
    desktop.page.click("#retry")
    desktop.wait_for_state("ready")
    assert not desktop.page.is_visible("#notice")


def test_no_revenue_yet_points_at_the_rollup_job(desktop: ConfinedPage) -> None:
    desktop.open_with_key(EMPTY_KEY, expect_state="empty")
    assert desktop.page.inner_text("#empty-state h2") == (
        "No revenue yet: run the revenue-rollup job"
    )
    assert not desktop.page.is_visible("#charts")


def test_on_a_phone_the_page_fits_the_screen(phone: ConfinedPage) -> None:
    phone.open_with_key(GOOD_KEY)
    overflow = phone.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0, f"the page is {overflow}px wider than the phone screen"
    widths = phone.page.evaluate(
        "() => [...document.querySelectorAll('canvas')].map((c) => c.clientWidth)"
    )
    assert all(0 < w <= 390 for w in widths), widths
    phone.screenshot("dashboard-mobile.png")
