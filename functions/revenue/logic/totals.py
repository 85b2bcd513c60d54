"""Monthly revenue totals and how one customer's timeline adds to them.

A month's totals hold its MRR movements, the level at its end (MRR, paying customers, and
per cohort), what happened to the customers who were paying when it began (for GRR and NRR)
and the net change per day (for a summary on any date). The start of a month is the end of
the one before, so ``mrr_end = mrr_start + new + expansion + reactivation - contraction -
churn`` holds by construction: every movement is the step between two points of a customer's
timeline, and the level at a month's end is the sum of those steps.

A customer adds to the months through a ``MonthDeltas``: its steps, signed, and the changes of
its level at the months they happen in. ``materialize`` turns the level changes into the
change of each month's end level, so the rollup can apply "this customer before, minus; this
customer now, plus" to stored totals from the first month that differs, and a full recompute
is the same sum over every customer from nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cognitionos.mrr_feed import MOVEMENTS, MovementKind, movement_kind
from revenue.logic.months import Month, day_of, month_of, month_text, parse_month
from revenue.logic.timeline import Point

# Movements of the customers paying when the month began (docs/REVENUE.md: GRR and NRR).
START_MOVEMENTS: tuple[MovementKind, ...] = ("expansion", "contraction", "churn")


def _pair() -> list[int]:
    return [0, 0]


@dataclass
class MonthTotals:
    """One month. Movements are positive magnitudes; ``daily[d]`` = [MRR change, paying
    customers change] on day d; ``cohorts[c]`` = [paying, MRR] at the month's end of the
    customers whose first MRR was in month c."""

    movements: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MOVEMENTS, 0))
    start_movements: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(START_MOVEMENTS, 0)
    )
    new_customers: int = 0
    churned_customers: int = 0
    mrr_end: int = 0
    customers_end: int = 0
    daily: dict[int, list[int]] = field(default_factory=lambda: defaultdict(_pair))
    cohorts: dict[Month, list[int]] = field(default_factory=lambda: defaultdict(_pair))

    def add(self, other: MonthTotals) -> None:
        for kind in MOVEMENTS:
            self.movements[kind] += other.movements[kind]
        for kind in START_MOVEMENTS:
            self.start_movements[kind] += other.start_movements[kind]
        self.new_customers += other.new_customers
        self.churned_customers += other.churned_customers
        self.mrr_end += other.mrr_end
        self.customers_end += other.customers_end
        _add_pairs(self.daily, other.daily)
        _add_pairs(self.cohorts, other.cohorts)

    def carried_forward(self) -> MonthTotals:
        """The next month when nothing happens in it: the same levels, no movements."""
        return MonthTotals(
            mrr_end=self.mrr_end,
            customers_end=self.customers_end,
            cohorts=_pairs(self.cohorts.items()),
        )

    def to_item(self) -> dict[str, Any]:
        return {
            **self.movements,
            **{f"start_{k}": v for k, v in self.start_movements.items()},
            "new_customers": self.new_customers,
            "churned_customers": self.churned_customers,
            "mrr_end": self.mrr_end,
            "customers_end": self.customers_end,
            "daily": {f"{d:02d}": v for d, v in sorted(self.daily.items()) if v != [0, 0]},
            "cohorts": {month_text(c): v for c, v in sorted(self.cohorts.items()) if v != [0, 0]},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> MonthTotals:
        return cls(
            movements={k: int(item.get(k, 0)) for k in MOVEMENTS},
            start_movements={k: int(item.get(f"start_{k}", 0)) for k in START_MOVEMENTS},
            new_customers=int(item.get("new_customers", 0)),
            churned_customers=int(item.get("churned_customers", 0)),
            mrr_end=int(item.get("mrr_end", 0)),
            customers_end=int(item.get("customers_end", 0)),
            daily=_pairs((int(d), v) for d, v in (item.get("daily") or {}).items()),
            cohorts=_pairs((parse_month(c), v) for c, v in (item.get("cohorts") or {}).items()),
        )


def _pairs(entries: Iterable[tuple[int, list[int]]]) -> defaultdict[int, list[int]]:
    found: defaultdict[int, list[int]] = defaultdict(_pair)
    for key, (a, b) in entries:
        found[key] = [int(a), int(b)]
    return found


def _add_pairs(into: dict[int, list[int]], other: dict[int, list[int]]) -> None:
    for key, (a, b) in other.items():
        pair = into[key]
        pair[0] += a
        pair[1] += b


@dataclass
class _LevelStep:
    mrr: int = 0
    customers: int = 0
    cohorts: dict[Month, list[int]] = field(default_factory=lambda: defaultdict(_pair))


class MonthDeltas:
    """Signed contributions of customer timelines to months from ``since`` on."""

    def __init__(self) -> None:
        self.months: dict[Month, MonthTotals] = defaultdict(MonthTotals)
        self.steps: dict[Month, _LevelStep] = defaultdict(_LevelStep)

    @property
    def first_month(self) -> Month | None:
        return min(self.months, default=None)

    def add_timeline(self, points: list[Point], sign: int, since: Month) -> None:
        """Add (``sign`` 1) or take away (-1) a customer's timeline's effect on months
        ``>= since``; months before are left out (the caller knows they did not change)."""
        before = 0
        paid_before = False
        cohort: Month | None = None
        month_began_at = 0  # the customer's MRR when the current point's month began
        current_month: Month | None = None
        churned_in: set[Month] = set()
        for at, mrr in points:
            month = month_of(at)
            if month != current_month:
                current_month, month_began_at = month, before
            kind = movement_kind(before, mrr, paid_before)
            if cohort is None and mrr > 0:
                cohort = month
            if month >= since:
                self._add_step(month, day_of(at), before, mrr, kind, sign, cohort)
                totals = self.months[month]
                if month_began_at > 0 and kind in START_MOVEMENTS:
                    totals.start_movements[kind] += sign * abs(mrr - before)
                if kind == "churn" and month not in churned_in:
                    churned_in.add(month)
                    totals.churned_customers += sign
            paid_before = paid_before or mrr > 0
            before = mrr

    def _add_step(  # noqa: PLR0917 (one step's facts, all positional at its one caller)
        self,
        month: Month,
        day: int,
        before: int,
        after: int,
        kind: MovementKind,
        sign: int,
        cohort: Month | None,
    ) -> None:
        totals = self.months[month]
        totals.movements[kind] += sign * abs(after - before)
        if kind == "new":
            totals.new_customers += sign
        paying = int(after > 0) - int(before > 0)
        day_change = totals.daily[day]
        day_change[0] += sign * (after - before)
        day_change[1] += sign * paying
        step = self.steps[month]
        step.mrr += sign * (after - before)
        step.customers += sign * paying
        if cohort is not None:
            cohort_step = step.cohorts[cohort]
            cohort_step[0] += sign * paying
            cohort_step[1] += sign * (after - before)

    def materialize(self, since: Month, until: Month) -> dict[Month, MonthTotals]:
        """The change of every month ``since..until``: its movements, and its end levels as
        the running sum of the level steps from ``since`` on."""
        found: dict[Month, MonthTotals] = {}
        running = _LevelStep()
        for month in range(since, until + 1):
            step = self.steps.get(month)
            if step is not None:
                running.mrr += step.mrr
                running.customers += step.customers
                _add_pairs(running.cohorts, step.cohorts)
            totals = self.months.get(month) or MonthTotals()
            totals.mrr_end = running.mrr
            totals.customers_end = running.customers
            totals.cohorts = _pairs(running.cohorts.items())
            found[month] = totals
        return found
