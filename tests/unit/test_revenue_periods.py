"""Which months and days the revenue routes answer (revenue.logic.periods), on a fixed clock."""

from __future__ import annotations

from datetime import date

import pytest

from cognitionos.errors import Unprocessable
from revenue.logic.months import month_text, parse_month
from revenue.logic.periods import MAX_MONTHS, asked_day, asked_month, asked_range

DECEMBER = parse_month("2026-12")  # next month is in another year
TODAY = date(2026, 12, 31)


def test_the_current_month_and_any_before_it_are_answered() -> None:
    assert asked_month("month", "2026-12", DECEMBER) == DECEMBER
    assert asked_month("month", "1999-01", DECEMBER) == parse_month("1999-01")
    assert asked_month("month", "0001-01", DECEMBER) == 12  # the calendar's first month


@pytest.mark.parametrize("future", ["2027-01", "2030-06", "9999-12"])
def test_a_month_after_the_current_one_is_refused_pointing_at_the_forecast(future: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        asked_month("month", future, DECEMBER)
    assert refused.value.message == (
        f"month {future} is in the future (this month is 2026-12); see /v1/revenue/forecast"
    )


@pytest.mark.parametrize("text", ["0000-01", "0000-12", "2026-00", "2026-13", "26-01", ""])
def test_what_is_not_a_month_is_refused_naming_the_parameter(text: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        asked_month("start", text, DECEMBER)
    assert refused.value.message == f"start '{text}' is not a month (YYYY-MM, from 0001-01)"


def test_a_range_defaults_to_the_twelve_months_to_this_one() -> None:
    assert asked_range(None, None, DECEMBER) == (parse_month("2026-01"), DECEMBER)
    assert asked_range(None, "2026-06", DECEMBER) == (
        parse_month("2025-07"),
        parse_month("2026-06"),
    )
    assert asked_range("2026-10", None, DECEMBER) == (parse_month("2026-10"), DECEMBER)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11", "2027-02", "end 2027-02 is in the future (this month is 2026-12)"),
        ("2027-01", None, "start 2027-01 is in the future (this month is 2026-12)"),
        ("0000-01", "0000-02", "start '0000-01' is not a month"),
        ("2026-06", "2026-01", "start 2026-06 is after end 2026-01"),
        (month_text(DECEMBER - MAX_MONTHS), None, f"at most {MAX_MONTHS} months at a time"),
    ],
)
def test_a_range_is_refused_naming_its_first_problem(
    start: str, end: str | None, message: str
) -> None:
    with pytest.raises(Unprocessable) as refused:
        asked_range(start, end, DECEMBER)
    assert refused.value.message.startswith(message)


def test_today_and_any_day_before_are_answered() -> None:
    assert asked_day(None, TODAY) == TODAY
    assert asked_day("2026-12-31", TODAY) == TODAY
    assert asked_day("0001-01-01", TODAY) == date(1, 1, 1)


def test_a_day_after_today_is_refused_pointing_at_the_forecast() -> None:
    with pytest.raises(Unprocessable) as refused:
        asked_day("2027-01-01", TODAY)
    assert refused.value.message == (
        "as_of 2027-01-01 is in the future (today is 2026-12-31, UTC); see /v1/revenue/forecast"
    )


@pytest.mark.parametrize("text", ["0000-00-00", "0000-01-01", "2026-02-30", "20261201", "2026-W01"])
def test_what_is_not_a_date_is_refused(text: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        asked_day(text, TODAY)
    assert refused.value.message == f"as_of '{text}' is not a date (YYYY-MM-DD)"
