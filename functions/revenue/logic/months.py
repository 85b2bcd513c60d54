"""Calendar months as integers (``year * 12 + month - 1``): arithmetic without dates.

The API speaks ``YYYY-MM`` (docs/API.md, "Money and time"); the rollup and the views count
months.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

Month = int
# Years 0001 to 9999 in four ASCII digits: the calendar, and ``datetime``, start at year 1.
# [0-9], not \d: a pattern also reads as JSON Schema's (ECMA) regex, whose \d is ASCII only.
YEAR_PATTERN = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
MONTH_PATTERN = rf"^{YEAR_PATTERN}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def parse_month(text: str) -> Month:
    """``"2025-03"`` -> its month number; ValueError naming the text otherwise (year 0000
    too)."""
    found = _MONTH.fullmatch(text)
    if not found:
        raise ValueError(f"'{text}' is not a month (YYYY-MM, from 0001-01)")
    return int(found.group(1)) * 12 + int(found.group(2)) - 1


def month_text(month: Month) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def month_of_date(day: date) -> Month:
    return day.year * 12 + day.month - 1


def month_of(epoch_s: int) -> Month:
    return month_of_date(datetime.fromtimestamp(epoch_s, UTC))


def day_of(epoch_s: int) -> int:
    """Day of the month (1-31) of a UTC timestamp."""
    return datetime.fromtimestamp(epoch_s, UTC).day


def month_start(month: Month) -> int:
    """The first second of ``month`` (UTC), as epoch seconds."""
    return int(datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp())


def year_of(month: Month) -> int:
    return month // 12
