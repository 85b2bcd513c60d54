"""What the revenue routes show, computed from stored monthly totals (docs/REVENUE.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from revenue.logic.figures import MonthFigures
from revenue.logic.months import Month, month_text
from revenue.logic.totals import MonthTotals

RATE_PLACES = Decimal("0.0001")


def rate(numerator: int, denominator: int) -> float:
    """A fraction rounded half to even to 4 places; 0 when the denominator is 0 (§4)."""
    if denominator == 0:
        return 0.0
    exact = Fraction(numerator, denominator)
    value = Decimal(exact.numerator) / Decimal(exact.denominator)
    return float(value.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN))


def divide_half_even(numerator: int, denominator: int) -> int:
    if denominator == 0:
        return 0
    return round(Fraction(numerator, denominator))  # Fraction rounds half to even


class MonthSeries:
    """Stored months: a month before the first stored one had nothing, a month after the
    last one (the last rollup's horizon) keeps its levels with no movements."""

    def __init__(self, stored: Mapping[Month, MonthTotals]) -> None:
        self._stored = stored
        self._last = max(stored, default=None)

    def totals(self, month: Month) -> MonthTotals:
        found = self._stored.get(month)
        if found is not None:
            return found
        if self._last is not None and month > self._last:
            return self._stored[self._last].carried_forward()
        return MonthTotals()

    def figures(self, month: Month) -> MonthFigures:
        start, end = self.totals(month - 1), self.totals(month)
        moves = end.movements
        return MonthFigures(
            month=month_text(month),
            mrr_start=start.mrr_end,
            new=moves["new"],
            expansion=moves["expansion"],
            contraction=moves["contraction"],
            churn=moves["churn"],
            reactivation=moves["reactivation"],
            mrr_end=end.mrr_end,
            customers_start=start.customers_end,
            customers_end=end.customers_end,
        )

    def level_on(self, month: Month, day: int) -> tuple[int, int]:
        """MRR and paying customers at the end of ``day`` of ``month``."""
        start = self.totals(month - 1)
        mrr, customers = start.mrr_end, start.customers_end
        for on, (mrr_change, customer_change) in self.totals(month).daily.items():
            if on <= day:
                mrr += mrr_change
                customers += customer_change
        return mrr, customers


@dataclass(frozen=True)
class Summary:
    mrr: int
    arr: int
    paying_customers: int
    arpu: int


def summary(series: MonthSeries, month: Month, day: int) -> Summary:
    mrr, customers = series.level_on(month, day)
    return Summary(mrr, 12 * mrr, customers, divide_half_even(mrr, customers))


@dataclass(frozen=True)
class ChurnRates:
    month: str
    customer_churn_rate: float
    gross_mrr_churn_rate: float
    net_mrr_churn_rate: float
    grr: float
    nrr: float


def churn_rates(series: MonthSeries, month: Month) -> ChurnRates:
    """§4: rates over the month's start; GRR and NRR over the customers paying at its start."""
    start, totals = series.totals(month - 1), series.totals(month)
    moves, theirs = totals.movements, totals.start_movements
    base = start.mrr_end
    lost = moves["churn"] + moves["contraction"]
    kept = base - theirs["churn"] - theirs["contraction"]
    return ChurnRates(
        month=month_text(month),
        customer_churn_rate=rate(totals.churned_customers, start.customers_end),
        gross_mrr_churn_rate=rate(lost, base),
        net_mrr_churn_rate=rate(lost - moves["expansion"] - moves["reactivation"], base),
        grr=rate(kept, base),
        nrr=rate(kept + theirs["expansion"], base),
    )


@dataclass(frozen=True)
class Cohort:
    cohort: str
    customers: int
    logo_retention: tuple[float, ...]
    revenue_retention: tuple[float, ...]


def cohort(series: MonthSeries, month: Month, last: Month) -> Cohort:
    """The customers whose first MRR was in ``month``, at the end of each month to ``last``."""
    size = series.totals(month).new_customers
    paying, mrr = [], []
    for at in range(month, last + 1):
        count, amount = series.totals(at).cohorts.get(month, [0, 0])
        paying.append(count)
        mrr.append(amount)
    first_mrr = mrr[0] if mrr else 0
    return Cohort(
        cohort=month_text(month),
        customers=size,
        logo_retention=tuple(rate(p, size) for p in paying),
        revenue_retention=tuple(rate(m, first_mrr) for m in mrr),
    )
