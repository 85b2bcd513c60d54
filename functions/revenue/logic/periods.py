"""Which months and days a revenue read may ask for: one rule for every route.

- A month after the current one (a day after today), UTC, is refused: nothing has happened in
  it yet, and the forecast is where months to come are projected. Answering it with the
  levels carried forward would show a flat, churn-free future (GRR 1) that nobody measured.
- A month before any revenue is answered like any month: nothing in it, so zero movements and
  levels, and every rate 0 over its zero denominator, as in a month that began with no one
  paying.
- Year 0000 is not a year of the calendar the months count in.
- A parameter sent empty (``?month=``) is not a month; only an absent one takes the default.

docs/REVENUE.md ("Which months a read answers") says the same for readers.
"""

from __future__ import annotations

import re
from datetime import date

from cognitionos.errors import Unprocessable
from revenue.logic.months import YEAR_PATTERN, Month, month_text, parse_month

MAX_MONTHS = 120
DEFAULT_MONTHS = 12
FORECAST_ROUTE = "/v1/revenue/forecast"
# The shape of a day from 0001-01-01; date.fromisoformat says if it exists (not 2025-02-30).
DATE_PATTERN = rf"^{YEAR_PATTERN}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DATE = re.compile(DATE_PATTERN)


def asked_month(name: str, text: str, this_month: Month) -> Month:
    """The month parameter ``name`` asks for, or a 422 naming it."""
    try:
        month = parse_month(text)
    except ValueError as problem:
        raise Unprocessable(f"{name} {problem}") from None
    if month > this_month:
        raise Unprocessable(
            f"{name} {text} is in the future (this month is {month_text(this_month)}); "
            f"see {FORECAST_ROUTE}"
        )
    return month


def asked_range(start: str | None, end: str | None, this_month: Month) -> tuple[Month, Month]:
    """``start..end``, by default the 12 months to ``this_month``, both ends checked."""
    asked_first = asked_month("start", start, this_month) if start is not None else None
    last = asked_month("end", end, this_month) if end is not None else this_month
    first = last - DEFAULT_MONTHS + 1 if asked_first is None else asked_first
    if first > last:
        raise Unprocessable(f"start {month_text(first)} is after end {month_text(last)}")
    if last - first + 1 > MAX_MONTHS:
        raise Unprocessable(f"at most {MAX_MONTHS} months at a time")
    return first, last


def asked_day(text: str | None, today: date) -> date:
    """The ``as_of`` day, by default ``today``, or a 422 naming it."""
    if text is None:
        return today
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise Unprocessable(f"as_of '{text}' is not a date (YYYY-MM-DD)") from None
    if day > today:
        raise Unprocessable(
            f"as_of {day} is in the future (today is {today}, UTC); see {FORECAST_ROUTE}"
        )
    return day
