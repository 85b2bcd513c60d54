"""The MRR forecast: a movement model fitted on the last year, projected month by month.

docs/REVENUE.md ("Forecast") explains the method for readers; this module is its one
implementation. Amounts stay exact (Fraction) until the single half-to-even rounding of
each published figure; only the band, an estimate by nature, uses floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from statistics import NormalDist

from revenue.logic.figures import MonthFigures
from revenue.logic.months import Month, month_text, parse_month

MAX_MONTHS = 36
WINDOW_MONTHS = 12  # the fit never reads further back than a year
COVERAGE = 0.80
Z = NormalDist().inv_cdf(0.5 + COVERAGE / 2)  # 1.2816: 10% of outcomes above high, 10% below low
# A prior monthly spread of net MRR change, counted as PRIOR_MONTHS months of history, so
# that two or three quiet months cannot produce a falsely narrow band. A judgement call.
PRIOR_SPREAD = 0.02
PRIOR_MONTHS = 2


@dataclass(frozen=True)
class ForecastPoint:
    month: str  # YYYY-MM
    mrr: int
    low: int
    high: int


@dataclass(frozen=True)
class Forecast:
    method: str  # one readable sentence naming the method and what it was fitted on
    points: tuple[ForecastPoint, ...]


@dataclass(frozen=True)
class MovementFit:
    """Rates of MRR at the start of a month, inflows in minor units a month."""

    months: tuple[MonthFigures, ...]  # the months fitted on, oldest first
    expansion_rate: Fraction
    contraction_rate: Fraction
    churn_rate: Fraction
    inflow: Fraction  # new + reactivation
    spread: float  # standard deviation of the monthly net change rate around the model

    @property
    def retention(self) -> Fraction:
        """What one unit of MRR becomes a month later; a month cannot lose more than it had."""
        return max(Fraction(0), 1 + self.expansion_rate - self.contraction_rate - self.churn_rate)

    def step(self, mrr: Fraction) -> Fraction:
        return mrr * self.retention + self.inflow


def forecast_mrr(
    history: Sequence[MonthFigures], *, current_mrr: int, first_month: Month, months: int
) -> Forecast:
    """MRR for ``first_month`` .. ``first_month + months - 1``, starting from ``current_mrr``.

    ``history`` is the complete months before the current one, oldest first, consecutive;
    the current (partial) month is not in it.
    """
    _check_request(history, current_mrr=current_mrr, first_month=first_month, months=months)
    fit = fit_movements(history)
    labels = [month_text(first_month + ahead) for ahead in range(months)]
    if not fit.months and current_mrr == 0:
        method = (
            "No history: no complete month began with MRR and MRR is 0 now, "
            "so fitted on 0 months and every month is forecast at 0."
        )
        return Forecast(method, tuple(ForecastPoint(label, 0, 0, 0) for label in labels))
    points = []
    mrr = Fraction(current_mrr)
    for horizon, label in enumerate(labels, start=1):
        mrr = fit.step(mrr)
        half_width = mrr * Fraction(band_rate(fit, horizon))
        points.append(
            ForecastPoint(
                label, round(mrr), max(0, round(mrr - half_width)), round(mrr + half_width)
            )
        )
    return Forecast(_method(fit, current_mrr), tuple(points))


def fit_movements(history: Sequence[MonthFigures]) -> MovementFit:
    """Fit on those of the last 12 complete months that began with MRR.

    Rates are ratios of sums over those months (a bigger month weighs more); the inflow is
    the recency-weighted mean of new + reactivation (weights 1..n, newest heaviest). A month
    that began at zero (before the business started, or its opening month, whose "new" may be
    a whole imported book) has no rate to measure and is left out.
    """
    fitted = tuple(month for month in history[-WINDOW_MONTHS:] if month.mrr_start > 0)
    if not fitted:
        zero = Fraction(0)
        return MovementFit((), zero, zero, zero, zero, PRIOR_SPREAD)
    base = sum(month.mrr_start for month in fitted)
    weights = range(1, len(fitted) + 1)
    inflow = Fraction(
        sum(w * (m.new + m.reactivation) for w, m in zip(weights, fitted, strict=True)),
        sum(weights),
    )
    model = MovementFit(
        fitted,
        Fraction(sum(month.expansion for month in fitted), base),
        Fraction(sum(month.contraction for month in fitted), base),
        Fraction(sum(month.churn for month in fitted), base),
        inflow,
        PRIOR_SPREAD,
    )
    # Residual: how far each month's end landed from what the model says, as a rate of its start.
    squares = sum(
        float((month.mrr_end - model.step(Fraction(month.mrr_start))) / month.mrr_start) ** 2
        for month in fitted
    )
    pooled = (PRIOR_MONTHS * PRIOR_SPREAD**2 + squares) / (PRIOR_MONTHS + len(fitted) - 1)
    return replace(model, spread=math.sqrt(pooled))


def band_rate(fit: MovementFit, horizon: int) -> float:
    """Half-width of the band ``horizon`` months ahead, as a fraction of the forecast.

    Monthly surprises add up as sqrt(h); the error in the fitted rates themselves grows
    with h and shrinks with the months fitted on (n): sigma * sqrt(h * (1 + h / n)).
    """
    fitted_on = max(len(fit.months), 1)
    return Z * fit.spread * math.sqrt(horizon * (1 + horizon / fitted_on))


def _method(fit: MovementFit, current_mrr: int) -> str:
    band = f"{COVERAGE:.0%} band from a {fit.spread:.2%} monthly spread, widening with the horizon"
    if not fit.months:
        return (
            "No complete month began with MRR, so fitted on 0 months: MRR is held at the "
            f"current {current_mrr} with an {band} (the prior spread)."
        )
    count = len(fit.months)
    first, last = fit.months[0].month, fit.months[-1].month
    fitted_on = (
        f"1 complete month ({first})"
        if count == 1
        else f"{count} complete months ({first} to {last})"
    )
    little = (
        f" (little history, so the spread leans on a prior of {PRIOR_SPREAD:.2%} a month)"
        if count < 3
        else ""
    )
    return (
        f"Movement model fitted on {fitted_on}: each month MRR x "
        f"(1 + {float(fit.expansion_rate):.2%} expansion - {float(fit.contraction_rate):.2%} "
        f"contraction - {float(fit.churn_rate):.2%} churn) + {round(fit.inflow)} new and "
        f"reactivated MRR (minor units, recency-weighted mean); {band}{little}."
    )


def _check_request(
    history: Sequence[MonthFigures], *, current_mrr: int, first_month: Month, months: int
) -> None:
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}, got {months}")
    if current_mrr < 0:
        raise ValueError(f"current_mrr must not be negative, got {current_mrr}")
    previous: Month | None = None
    for figures in history:
        month = parse_month(figures.month)
        if previous is not None and month != previous + 1:
            raise ValueError(
                f"history must be consecutive months, oldest first: {figures.month} "
                f"follows {month_text(previous)}"
            )
        _check_figures(figures)
        previous = month
    current = first_month - 1
    if previous is not None and previous >= current:
        raise ValueError(
            f"history must end before the current month {month_text(current)}, "
            f"but it reaches {month_text(previous)}"
        )


def _check_figures(figures: MonthFigures) -> None:
    amounts = {
        "mrr_start": figures.mrr_start,
        "new": figures.new,
        "expansion": figures.expansion,
        "contraction": figures.contraction,
        "churn": figures.churn,
        "reactivation": figures.reactivation,
        "mrr_end": figures.mrr_end,
    }
    for name, amount in amounts.items():
        if amount < 0:
            raise ValueError(f"{figures.month}: {name} must not be negative, got {amount}")
    moved = (
        figures.mrr_start
        + figures.new
        + figures.expansion
        + figures.reactivation
        - figures.contraction
        - figures.churn
    )
    if moved != figures.mrr_end:
        raise ValueError(
            f"{figures.month}: mrr_end {figures.mrr_end} is not mrr_start plus the movements "
            f"({moved})"
        )
