"""Schedules, locally: EventBridge Scheduler's ``rate(...)`` and ``cron(...)`` in UTC.

moto never fires a schedule, so the runner does: each topology function with a schedule is
invoked asynchronously with ``cognitionos.jobs.schedule_event(job)``, the event the stack's
Scheduler target sends. ``COGNITION_SCHEDULES=off`` starts no scheduler at all.

Cron follows AWS's six-field format ``minutes hours day-of-month month day-of-week year``:
``*``, ``?``, lists, ranges, steps, month and weekday names (1 = SUN), ``L`` and ``W`` in
day-of-month, ``L`` and ``#`` in day-of-week; one of the two day fields must be ``?``.
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from infra.local.workers import Invocation

log = logging.getLogger("infra.local")

MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MAX_YEAR = 2199
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """An expression the runner (and EventBridge Scheduler) cannot parse."""


class Expression(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (UTC), or None if there is none."""


@dataclass(frozen=True)
class Rate:
    """``rate(N unit)``: every period, the first one period after ``anchor`` (the start)."""

    period: timedelta
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime:
        elapsed = max(timedelta(0), moment - self.anchor)
        periods = elapsed // self.period + 1
        return self.anchor + self.period * periods


DayMatcher = Callable[[date], bool]


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day: DayMatcher  # the day-of-month or the day-of-week rule, whichever is not "?"

    def next_after(self, moment: datetime) -> datetime | None:
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month in self.months and self.day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        fire = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if fire >= start:
                            return fire
            day += timedelta(days=1)
        return None


def parse(expression: str, anchor: datetime) -> Expression:
    """A ``rate(...)`` or ``cron(...)`` expression; ``anchor`` starts a rate's first period."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate[1]), rate[2].rstrip("s")
        if value < 1:
            raise ScheduleError(f"{expression}: the rate must be at least 1")
        return Rate(timedelta(seconds=value * _UNIT[unit]), anchor)
    cron = _CRON.match(text)
    if cron:
        return parse_cron(cron[1])
    raise ScheduleError(f"{expression!r} is neither rate(N unit) nor cron(...)")


def parse_cron(fields_text: str) -> Cron:
    fields = fields_text.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"cron({fields_text}) needs 6 fields: minutes hours day-of-month month day-of-week year"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"cron({fields_text}): exactly one of day-of-month and day-of-week must be '?'"
        )
    return Cron(
        minutes=tuple(sorted(_values(minutes, 0, 59, "minutes"))),
        hours=tuple(sorted(_values(hours, 0, 23, "hours"))),
        months=frozenset(_values(month, 1, 12, "month", MONTH_NAMES)),
        years=frozenset(_values(year, 1970, MAX_YEAR, "year")),
        day=_day_of_month(dom) if dow == "?" else _day_of_week(dow),
    )


def _values(
    field: str, low: int, high: int, name: str, names: dict[str, int] | None = None
) -> set[int]:
    """A field of lists, ranges and steps: ``*``, ``5``, ``1-5``, ``*/15``, ``10/5``, ``1-9/2``."""
    values: set[int] = set()
    for item in field.split(","):
        body, _, step_text = item.partition("/")
        step = _number(step_text, name) if step_text else 1
        if step < 1:
            raise ScheduleError(f"{name}: step must be at least 1 in {item!r}")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            start_text, _, end_text = body.partition("-")
            first, last = _value(start_text, name, names), _value(end_text, name, names)
            if first > last:
                raise ScheduleError(f"{name}: range {body!r} runs backwards")
        else:
            first = _value(body, name, names)
            last = high if step_text else first  # "10/5": from 10 to the end, every 5
        if not (low <= first <= high and low <= last <= high):
            raise ScheduleError(f"{name}: {item!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return values


def _value(text: str, name: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return _number(text, name)


def _number(text: str, name: str) -> int:
    if not text.isdigit():
        raise ScheduleError(f"{name}: {text!r} is not a number")
    return int(text)


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> int:
    """Day-of-month ``nW``: the weekday nearest ``target``, never leaving the month."""
    last = _last_day(day)
    target = min(target, last)
    weekday = date(day.year, day.month, target).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, or Monday after when the 1st
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before when the last day
        return target + 1 if target < last else target - 2
    return target


def _any_of(rules: list[DayMatcher]) -> DayMatcher:
    def matches(day: date) -> bool:
        return any(rule(day) for rule in rules)

    return matches


def _last_of_month(day: date) -> bool:
    return day.day == _last_day(day)


def _last_weekday_of_month(day: date) -> bool:
    return day.day == _last_weekday(day)


def _nearest_weekday_to(target: int) -> DayMatcher:
    def matches(day: date) -> bool:
        return day.day == _nearest_weekday(day, target)

    return matches


def _days_of_month(days: set[int]) -> DayMatcher:
    def matches(day: date) -> bool:
        return day.day in days

    return matches


def _day_of_month(field: str) -> DayMatcher:
    rules: list[DayMatcher] = []
    plain: list[str] = []
    for item in field.split(","):
        if item == "L":
            rules.append(_last_of_month)
        elif item == "LW":
            rules.append(_last_weekday_of_month)
        elif item.endswith("W"):
            target = _number(item[:-1], "day-of-month")
            if not 1 <= target <= 31:
                raise ScheduleError(f"day-of-month: {item!r} is outside 1-31")
            rules.append(_nearest_weekday_to(target))
        else:
            plain.append(item)
    if plain:
        rules.append(_days_of_month(_values(",".join(plain), 1, 31, "day-of-month")))
    return _any_of(rules)


def _last_weekday(day: date) -> int:
    last = _last_day(day)
    while date(day.year, day.month, last).weekday() >= 5:
        last -= 1
    return last


def _nth_weekday(weekday: int, nth: int) -> DayMatcher:
    def matches(day: date) -> bool:
        return _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth

    return matches


def _last_weekday_named(weekday: int) -> DayMatcher:
    def matches(day: date) -> bool:
        return _aws_weekday(day) == weekday and day.day + 7 > _last_day(day)

    return matches


def _weekdays(weekdays: set[int]) -> DayMatcher:
    def matches(day: date) -> bool:
        return _aws_weekday(day) in weekdays

    return matches


def _day_of_week(field: str) -> DayMatcher:
    rules: list[DayMatcher] = []
    plain: list[str] = []
    for item in field.split(","):
        if "#" in item:  # "2#1": the first Monday
            weekday_text, _, nth_text = item.partition("#")
            weekday = _value(weekday_text, "day-of-week", DAY_NAMES)
            nth = _number(nth_text, "day-of-week")
            if not (1 <= weekday <= 7 and 1 <= nth <= 5):
                raise ScheduleError(f"day-of-week: {item!r} is invalid")
            rules.append(_nth_weekday(weekday, nth))
        elif item == "L":  # alone: Saturday, the last day of the week
            rules.append(_weekdays({7}))
        elif item.endswith("L"):  # "6L": the last Friday of the month
            weekday = _value(item[:-1], "day-of-week", DAY_NAMES)
            if not 1 <= weekday <= 7:
                raise ScheduleError(f"day-of-week: {item!r} is invalid")
            rules.append(_last_weekday_named(weekday))
        else:
            plain.append(item)
    if plain:
        rules.append(_weekdays(_values(",".join(plain), 1, 7, "day-of-week", DAY_NAMES)))
    return _any_of(rules)


@dataclass(frozen=True)
class ScheduledJob:
    job: str
    function_name: str
    expression: str
    schedule: Expression


Fire = Callable[[ScheduledJob, datetime], None]


class Scheduler:
    """One thread that sleeps until the next due schedule and fires it."""

    def __init__(self, jobs: list[ScheduledJob], fire: Fire) -> None:
        self._jobs = jobs
        self._fire = fire
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        now = datetime.now(UTC)
        due: dict[ScheduledJob, datetime] = {}
        for job in self._jobs:
            first = job.schedule.next_after(now)
            if first is not None:
                due[job] = first
        while due and not self._stop.is_set():
            job, when = min(due.items(), key=lambda item: item[1])
            wait_s = (when - datetime.now(UTC)).total_seconds()
            if wait_s > 0 and self._stop.wait(min(wait_s, 60)):
                return
            if wait_s > 60:
                continue  # woke up early to re-check the clock (laptops sleep)
            self._fire(job, when)
            later = job.schedule.next_after(max(when, datetime.now(UTC)))
            if later is None:
                del due[job]
            else:
                due[job] = later


def invoke_job(invoke: Callable[[str, bytes], Invocation], account_id: str, region: str) -> Fire:
    """A ``Fire`` that invokes the job's function on a thread of its own (an async invoke)."""
    from cognitionos.jobs import schedule_event

    def run(job: ScheduledJob, payload: bytes) -> None:
        invocation = invoke(job.function_name, payload)
        if invocation.error:
            log.warning("schedule %s failed: %s", job.job, invocation.payload.decode())

    def fire(job: ScheduledJob, when: datetime) -> None:
        event = schedule_event(
            job.job,
            account=account_id,
            region=region,
            scheduled_time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        log.info("schedule %s (%s): invoking %s", job.job, job.expression, job.function_name)
        payload = json.dumps(event).encode()
        threading.Thread(
            target=run, args=(job, payload), name=f"job:{job.job}", daemon=True
        ).start()

    return fire
