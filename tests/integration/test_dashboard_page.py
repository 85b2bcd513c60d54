"""The dashboard in headless Chromium against a fixture revenue API on 127.0.0.1: what a user
sees after pasting a key, for a growing business, a young one, no figures, and refused or
unreachable calls.

Screenshots go to tests/artifacts/: dashboard.png and dashboard-young.png at 1280x800,
dashboard-mobile.png and dashboard-young-mobile.png at 390x844.
"""

from __future__ import annotations

import re
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
    YOUNG_KEY,
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


# ---- how the charts are drawn -------------------------------------------------------------

CHARTS = ("mrr-chart", "movements-chart", "churn-chart", "forecast-chart")


@pytest.mark.parametrize("key", [GOOD_KEY, YOUNG_KEY])
def test_every_monthly_line_is_straight_segments_between_month_ends(
    desktop: ConfinedPage, key: str
) -> None:
    desktop.open_with_key(key)
    lines = [
        (chart, d["label"], d["line"])
        for chart in CHARTS
        for d in desktop.drawn(chart)["datasets"]
        if d["type"] == "line"
    ]
    assert len(lines) == 1 + 1 + 3 + 4  # MRR; net change; three rates; actual, forecast, band
    for chart, label, line in lines:
        # A month-end figure is a point: no curve through values nobody measured.
        assert line == {"tension": 0, "cubicInterpolationMode": "default", "stepped": False}, (
            chart,
            label,
        )


def test_actual_and_forecast_mrr_differ_in_colour_in_the_chart_and_its_legend(
    desktop: ConfinedPage,
) -> None:
    desktop.open_with_key(GOOD_KEY)
    drawn = desktop.drawn("forecast-chart")
    colour = {d["label"]: d["borderColor"] for d in drawn["datasets"]}
    assert colour["Actual MRR"] != colour["Forecast"]
    legend = {item["text"]: item for item in drawn["legend"]}
    assert set(legend) == {"Actual MRR", "Forecast", "Range"}
    assert legend["Actual MRR"]["fill"] != legend["Forecast"]["fill"]
    assert legend["Actual MRR"]["stroke"] != legend["Forecast"]["stroke"]


def _forecast_drawn(page: ConfinedPage, figures: Any) -> tuple[dict[str, Any], int, int]:
    """The forecast chart's drawing, the highest MRR it plots (actual or forecast), and the
    top of its band."""
    drawn = page.drawn("forecast-chart")
    actual = [v for v in page.dataset("forecast-chart", "Actual MRR") if v is not None]
    points = figures.forecast(12)["points"]
    return drawn, max(*actual, *(p["mrr"] for p in points)), max(p["high"] for p in points)


def test_a_wide_band_is_cut_off_so_that_the_actual_mrr_stays_readable(
    desktop: ConfinedPage, api: FixtureApi
) -> None:
    desktop.open_with_key(YOUNG_KEY)
    drawn, highest_mrr, band_top = _forecast_drawn(desktop, api.young)
    assert band_top > 5 * highest_mrr  # the young business's band: little history, wide
    assert drawn["y"]["min"] == 0
    assert highest_mrr <= drawn["y"]["max"] <= 2 * highest_mrr
    # The band's figures are drawn as answered, cut off at the top, not changed.
    points = api.young.forecast(12)["points"]
    assert desktop.dataset("forecast-chart", "Range")[-12:] == [p["high"] for p in points]
    # The actual months ($49 to $245) fill a visible part of the chart, not its floor.
    actual = [v for v in desktop.dataset("forecast-chart", "Actual MRR") if v]
    assert max(actual) >= drawn["y"]["max"] / 4


def test_a_narrow_band_is_shown_whole(desktop: ConfinedPage, api: FixtureApi) -> None:
    desktop.open_with_key(GOOD_KEY)
    drawn, highest_mrr, band_top = _forecast_drawn(desktop, api.figures)
    assert drawn["y"]["max"] >= band_top
    assert drawn["y"]["max"] <= 2 * highest_mrr


@pytest.mark.parametrize("key", [GOOD_KEY, YOUNG_KEY])
def test_the_forecast_caption_gives_whole_currency_units_like_the_tiles(
    desktop: ConfinedPage, api: FixtureApi, key: str
) -> None:
    desktop.open_with_key(key)
    figures = api.young if key == YOUNG_KEY else api.figures
    forecast = figures.forecast(12)
    last = forecast["points"][-1]
    caption = desktop.page.inner_text("#forecast-note")
    assert caption.startswith(
        f"Next 12 months: {usd_whole(last['mrr'])} by {_month_label(last['month'])}, "
        f"between {usd_whole(last['low'])} and {usd_whole(last['high'])} (the shaded range"
    )
    assert re.search(r"\d\.\d\d\b", caption) is None, caption  # no cents
    assert str(last["mrr"]) not in caption.replace(",", "")  # no minor units
    # The API's own sentence (in minor units, as the API speaks) is there on request.
    assert not desktop.page.is_visible("#forecast-method-text")
    desktop.page.click("#forecast-method summary")
    assert forecast["method"] in desktop.page.inner_text("#forecast-method-text")


def _month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{date(int(year), int(number), 1):%b %Y}"


def test_the_cohort_table_starts_at_the_first_cohort_with_customers(
    desktop: ConfinedPage, api: FixtureApi
) -> None:
    desktop.open_with_key(YOUNG_KEY)
    end = api.young.end
    answered = api.young.cohorts(end - 11, end)
    assert answered[0]["customers"] == 0  # the API answers every month of the period
    first = next(i for i, c in enumerate(answered) if c["customers"] > 0)
    shown = answered[first:]
    rows = desktop.page.query_selector_all("#cohort-table tbody tr")
    assert [r.get_attribute("data-cohort") for r in rows] == [c["cohort"] for c in shown]
    assert rows[0].query_selector("td.size").inner_text() == str(shown[0]["customers"])
    # The heatmap is as wide as the oldest cohort shown, each row its own retention.
    head = desktop.page.query_selector_all("#cohort-table thead tr:last-child th")
    assert [h.inner_text() for h in head][2:] == [f"M{k}" for k in range(4)]
    for row, cohort in zip(rows, shown, strict=True):
        cells = [c.inner_text() for c in row.query_selector_all("td.cell:not(.blank)")]
        if cohort["customers"]:
            assert cells == [percent(v, 0) for v in cohort["logo_retention"]]
        else:  # a later month when nobody started paying: a row of dashes
            assert cells == []
    assert rows[-1].query_selector("td.cell").inner_text() == "\u2013"


def test_the_young_business_at_desktop_and_phone_widths(
    desktop: ConfinedPage, phone: ConfinedPage
) -> None:
    for page, name in ((desktop, "dashboard-young.png"), (phone, "dashboard-young-mobile.png")):
        page.open_with_key(YOUNG_KEY)
        page.page.click("#forecast-method summary")
        assert page.console_errors == []
        page.screenshot(name)
    overflow = phone.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0, f"the page is {overflow}px wider than the phone screen"
