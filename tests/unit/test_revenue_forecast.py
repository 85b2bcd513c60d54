"""The MRR forecast (docs/REVENUE.md, Forecast) against figures computed by hand."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from revenue.logic.figures import MonthFigures
from revenue.logic.forecast import Forecast, ForecastPoint, forecast_mrr
from revenue.logic.months import Month, month_text, parse_month

FEB_2026 = parse_month("2026-02")  # the first forecast month: the current month is 2026-01


def figures(
    month: str,
    start: int,
    *,
    new: int = 0,
    expansion: int = 0,
    contraction: int = 0,
    churn: int = 0,
    reactivation: int = 0,
) -> MonthFigures:
    end = start + new + expansion + reactivation - contraction - churn
    return MonthFigures(month, start, new, expansion, contraction, churn, reactivation, end, 0, 0)


def year_2025(**movements: int) -> list[MonthFigures]:
    """Twelve months of 2025, each starting at 100,000 with the same movements."""
    return [figures(f"2025-{m:02d}", 100_000, **movements) for m in range(1, 13)]


def forecast(history: list[MonthFigures], current_mrr: int, months: int = 12) -> Forecast:
    return forecast_mrr(history, current_mrr=current_mrr, first_month=FEB_2026, months=months)


def test_a_steady_business_projects_its_rates_and_inflows_month_by_month() -> None:
    # Each month: 1% expansion, 1% contraction, 2% churn of 100,000, plus 1,500 new and 500
    # reactivated: it ends where it started. Net rate -2%, inflow 2,000 a month.
    history = year_2025(
        expansion=1_000, contraction=1_000, churn=2_000, new=1_500, reactivation=500
    )
    result = forecast(history, current_mrr=120_000)
    # 120,000 x 0.98 + 2,000 = 119,600
    # 119,600 x 0.98 + 2,000 = 117,208 + 2,000 = 119,208
    # 119,208 x 0.98 + 2,000 = 116,823.84 + 2,000 = 118,823.84 -> 118,824
    assert [p.mrr for p in result.points[:3]] == [119_600, 119_208, 118_824]
    # No residuals, so the spread is the prior alone: sigma^2 = 2 x 0.02^2 / (2 + 12 - 1)
    # = 0.0008 / 13, sigma = 0.0078446. One month ahead the half-width is
    # 1.2816 x 0.0078446 x sqrt(1 x (1 + 1/12)) = 0.0104639 of 119,600 = 1,251.48.
    assert (result.points[0].low, result.points[0].high) == (118_349, 120_851)
    assert result.method.startswith("Movement model fitted on 12 complete months")
    assert "- 2.00% churn" in result.method
    assert "+ 2000 new and reactivated" in result.method


def test_rates_weigh_months_by_size_and_inflows_by_recency() -> None:
    history = [
        figures("2025-11", 100_000, churn=10_000, new=1_000),  # 10% churn of a small month
        figures("2025-12", 300_000, new=4_000),  # no churn in a month three times bigger
    ]
    result = forecast(history, current_mrr=304_000, months=2)
    # Churn rate = 10,000 / 400,000 = 2.5% (not the 5% mean of the monthly rates).
    # Inflow = (1 x 1,000 + 2 x 4,000) / 3 = 3,000 (the newer month weighs twice).
    # 304,000 x 0.975 + 3,000 = 299,400; 299,400 x 0.975 + 3,000 = 294,915
    assert [p.mrr for p in result.points] == [299_400, 294_915]
    assert "2.50% churn" in result.method


def test_no_history_and_no_mrr_forecasts_zero_and_says_so() -> None:
    before_launch = [figures(f"2025-{m:02d}", 0) for m in range(1, 13)]
    result = forecast(before_launch, current_mrr=0, months=3)
    assert [(p.mrr, p.low, p.high) for p in result.points] == [(0, 0, 0)] * 3
    assert [p.month for p in result.points] == ["2026-02", "2026-03", "2026-04"]
    assert result.method.startswith("No history")
    assert "0 months" in result.method
    assert forecast([], current_mrr=0, months=1).points[0].high == 0


def test_mrr_with_no_month_that_began_with_mrr_is_held_flat_inside_the_prior_band() -> None:
    # Launched in December (started at 0): its "new" could be an imported book, so no fit.
    launch = [figures("2025-11", 0), figures("2025-12", 0, new=10_000)]
    result = forecast(launch, current_mrr=12_000, months=2)
    # sigma = 2% (prior); h=1: 1.2816 x 0.02 x sqrt(1 x 2) = 0.036248 of 12,000 = 434.98
    assert result.points[0] == ForecastPoint("2026-02", 12_000, 11_565, 12_435)
    assert result.points[1].mrr == 12_000
    assert "fitted on 0 months" in result.method


def test_one_month_of_history_uses_its_rates_and_the_prior_spread() -> None:
    # Leading months of zero MRR and the opening month are not fitted on.
    history = [figures(f"2025-{m:02d}", 0) for m in range(1, 11)]
    history.append(figures("2025-11", 0, new=50_000))
    history.append(figures("2025-12", 50_000, expansion=1_000, churn=500, new=2_000))
    result = forecast(history, current_mrr=52_500, months=3)
    # Net rate (1,000 - 500) / 50,000 = +1%, inflow 2,000.
    # 52,500 x 1.01 + 2,000 = 53,025 + 2,000 = 55,025
    # sigma = 2% (prior), n = 1: 1.2816 x 0.02 x sqrt(1 x (1 + 1)) = 0.0362483 of 55,025
    # = 1,994.56: 53,030.44 -> 53,030 and 57,019.56 -> 57,020
    first = result.points[0]
    assert (first.mrr, first.low, first.high) == (55_025, 53_030, 57_020)
    assert "fitted on 1 complete month (2025-12)" in result.method
    assert "little history" in result.method


def test_the_band_widens_with_the_horizon() -> None:
    history = year_2025(expansion=3_000, churn=2_000, new=4_000)
    history[4] = figures("2025-05", 100_000, expansion=1_000, churn=5_000, new=1_000)
    widths = [(p.high - p.low) / p.mrr for p in forecast(history, current_mrr=105_000).points]
    assert all(later > earlier for earlier, later in pairwise(widths))
    # and the noisy month makes the band wider than the prior alone would
    steady = forecast(year_2025(expansion=3_000, churn=2_000, new=4_000), current_mrr=105_000)
    assert widths[0] > (steady.points[0].high - steady.points[0].low) / steady.points[0].mrr


def test_heavy_volatile_churn_never_sends_low_below_zero() -> None:
    # Churn alternates between 10% and 70% of MRR: a spread of about 30% a month.
    history = [
        figures(f"2025-{m:02d}", 100_000, churn=10_000 if m % 2 else 70_000, new=30_000)
        for m in range(1, 13)
    ]
    points = forecast(history, current_mrr=100_000, months=24).points
    assert all(p.low >= 0 and p.mrr > 0 for p in points)
    assert points[-1].low == 0  # the clamp is reached, not avoided


def test_more_churn_gives_a_lower_forecast() -> None:
    base = forecast(year_2025(churn=2_000, new=3_000), current_mrr=100_000)
    worse = forecast(year_2025(churn=3_000, new=3_000), current_mrr=100_000)
    assert all(w.mrr < b.mrr for w, b in zip(worse.points, base.points, strict=True))


def test_only_the_last_twelve_months_are_fitted() -> None:
    old_disaster = [figures(f"2024-{m:02d}", 100_000, churn=50_000) for m in range(1, 13)]
    recent = year_2025(churn=1_000, new=1_000)
    assert forecast(old_disaster + recent, current_mrr=100_000) == forecast(
        recent, current_mrr=100_000
    )


@pytest.mark.parametrize("months", [0, 37, -1])
def test_months_outside_1_to_36_are_refused(months: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 36"):
        forecast([], current_mrr=0, months=months)


@pytest.mark.parametrize(
    ("history", "current_mrr", "message"),
    [
        ([figures("2025-10", 1), figures("2025-12", 1)], 0, "2025-12 follows 2025-10"),
        ([figures("2025-12", 1), figures("2025-11", 1)], 0, "consecutive"),
        ([figures("2026-01", 1)], 0, "before the current month 2026-01"),
        ([figures("2025-12", 10, churn=20)], 0, "mrr_end must not be negative"),
        ([replace(figures("2025-12", 10), mrr_end=11)], 0, "mrr_end 11 is not mrr_start plus"),
        ([figures("25-12", 10)], 0, "'25-12' is not a month"),
        ([], -1, "current_mrr must not be negative"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(
    history: list[MonthFigures], current_mrr: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(history, current_mrr=current_mrr)


# Property tests --------------------------------------------------------------------------


@st.composite
def month_figures(draw: st.DrawFn, month: Month) -> MonthFigures:
    start = draw(st.integers(0, 10_000_000))
    churn = draw(st.integers(0, start))
    contraction = draw(st.integers(0, start - churn))
    inflows = st.integers(0, 2_000_000)
    return figures(
        month_text(month),
        start,
        new=draw(inflows),
        expansion=draw(inflows),
        reactivation=draw(inflows),
        contraction=contraction,
        churn=churn,
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[MonthFigures], int, int]:
    length = draw(st.integers(0, 15))
    first = parse_month("2024-01")
    history = [draw(month_figures(first + i)) for i in range(length)]
    return history, draw(st.integers(0, 10_000_000)), draw(st.integers(1, 36))


@given(requests())
def test_every_point_is_an_ordered_non_negative_band_over_consecutive_months(
    request: tuple[list[MonthFigures], int, int],
) -> None:
    history, current_mrr, months = request
    first_month = parse_month("2024-01") + len(history) + 1
    result = forecast_mrr(history, current_mrr=current_mrr, first_month=first_month, months=months)
    assert len(result.points) == months
    assert [p.month for p in result.points] == [month_text(first_month + i) for i in range(months)]
    assert all(0 <= p.low <= p.mrr <= p.high for p in result.points)
    assert "months" in result.method or "1 complete month" in result.method


@given(requests(), st.data())
def test_adding_churn_to_a_month_never_raises_the_forecast(
    request: tuple[list[MonthFigures], int, int], data: st.DataObject
) -> None:
    history, current_mrr, months = request
    assume(history)
    index = data.draw(st.integers(0, len(history) - 1))
    month = history[index]
    extra = data.draw(st.integers(0, month.mrr_end))
    worse = list(history)
    worse[index] = figures(
        month.month,
        month.mrr_start,
        new=month.new,
        expansion=month.expansion,
        reactivation=month.reactivation,
        contraction=month.contraction,
        churn=month.churn + extra,
    )
    first_month = parse_month("2024-01") + len(history) + 1
    before = forecast_mrr(history, current_mrr=current_mrr, first_month=first_month, months=months)
    after = forecast_mrr(worse, current_mrr=current_mrr, first_month=first_month, months=months)
    assert all(a.mrr <= b.mrr for a, b in zip(after.points, before.points, strict=True))


def test_a_month_cannot_lose_more_than_it_began_with() -> None:
    # Churn above the starting MRR (customers who came and went within the month) is a rate
    # of 150%: what remains of the current MRR is clamped at 0, leaving the inflows.
    history = [figures("2025-12", 100_000, new=100_000, churn=150_000)]
    result = forecast(history, current_mrr=50_000, months=2)
    assert [p.mrr for p in result.points] == [100_000, 100_000]
