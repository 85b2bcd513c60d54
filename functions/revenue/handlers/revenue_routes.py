"""GET /v1/revenue/...: the figures of the last revenue-rollup run, in the reporting currency."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.aws import dynamodb_table
from cognitionos.errors import Forbidden, Unprocessable
from cognitionos.http import current_principal, require_scope
from revenue.dal.rollup_store import RevenueStore
from revenue.logic import views
from revenue.logic.forecast import MAX_MONTHS as MAX_FORECAST_MONTHS
from revenue.logic.forecast import forecast_mrr
from revenue.logic.months import Month, month_of_date, month_text, parse_month
from revenue.models.revenue import (
    ChurnView,
    CohortsView,
    CohortView,
    ForecastPointView,
    ForecastView,
    MonthView,
    MrrView,
    SummaryView,
)
from revenue.settings import api_settings

router = APIGatewayHttpRouter()
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
MAX_MONTHS = 120
FORECAST_HISTORY_MONTHS = 12
revenue_read = require_scope("revenue:read")


def _operator_only() -> None:
    principal = current_principal(router)
    if principal.tenant_id is not None:
        raise Forbidden("revenue figures cover every customer; a tenant-bound key cannot read them")


class _Reader:
    """The stored months and the currency they are in, for one request."""

    def __init__(self) -> None:
        self.store = RevenueStore(dynamodb_table(api_settings().revenue_table))
        state = self.store.state()
        self.currency = state.currency or api_settings().cognition_reporting_currency
        self.horizon = state.horizon

    def series(self, first: Month, last: Month) -> views.MonthSeries:
        """Months ``first..last``, and the horizon's to carry forward from."""
        if self.horizon is None:
            return views.MonthSeries({})
        stored = self.store.months(min(first, self.horizon), min(last, self.horizon))
        if self.horizon < first:
            stored = {m: t for m, t in stored.items() if m == self.horizon}
        return views.MonthSeries(stored)


def _this_month() -> Month:
    return month_of_date(datetime.now(UTC).date())


def _month_range(start: str | None, end: str | None) -> tuple[Month, Month]:
    last = parse_month(end) if end else _this_month()
    first = parse_month(start) if start else last - 11
    if first > last:
        raise Unprocessable(f"start {month_text(first)} is after end {month_text(last)}")
    if last - first + 1 > MAX_MONTHS:
        raise Unprocessable(f"at most {MAX_MONTHS} months at a time")
    return first, last


@router.get("/v1/revenue/summary", middlewares=[revenue_read], tags=["revenue"])
def get_summary(as_of: Annotated[str | None, Query(pattern=DATE)] = None) -> SummaryView:
    """MRR, ARR, paying customers and ARPU at the end of ``as_of`` (default: today, UTC)."""
    _operator_only()
    today = datetime.now(UTC).date()
    try:
        day = date.fromisoformat(as_of) if as_of else today
    except ValueError:
        raise Unprocessable(f"as_of '{as_of}' is not a date (YYYY-MM-DD)") from None
    if day > today:
        raise Unprocessable(f"as_of {day} is in the future; see /v1/revenue/forecast")
    month = month_of_date(day)
    reader = _Reader()
    figures = views.summary(reader.series(month - 1, month), month, day.day)
    return SummaryView(as_of=day.isoformat(), currency=reader.currency, **asdict(figures))


@router.get("/v1/revenue/mrr", middlewares=[revenue_read], tags=["revenue"])
def get_mrr(
    start: Annotated[str | None, Query(pattern=MONTH)] = None,
    end: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> MrrView:
    """MRR movements per month, ``start..end`` (default: the 12 months to this one)."""
    _operator_only()
    first, last = _month_range(start, end)
    reader = _Reader()
    series = reader.series(first - 1, last)
    return MrrView(
        currency=reader.currency,
        months=[MonthView(**asdict(series.figures(m))) for m in range(first, last + 1)],
    )


@router.get("/v1/revenue/churn", middlewares=[revenue_read], tags=["revenue"])
def get_churn(month: Annotated[str | None, Query(pattern=MONTH)] = None) -> ChurnView:
    """Customer and MRR churn rates, GRR and NRR of ``month`` (default: this month)."""
    _operator_only()
    at = parse_month(month) if month else _this_month()
    return ChurnView(**asdict(views.churn_rates(_Reader().series(at - 1, at), at)))


@router.get("/v1/revenue/cohorts", middlewares=[revenue_read], tags=["revenue"])
def get_cohorts(
    start: Annotated[str | None, Query(pattern=MONTH)] = None,
    end: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> CohortsView:
    """Monthly cohorts ``start..end``: logo and revenue retention k months on, to this month."""
    _operator_only()
    first, last = _month_range(start, end)
    reader = _Reader()
    until = max(_this_month(), reader.horizon or 0, last)
    series = reader.series(first, until)
    return CohortsView(
        cohorts=[
            CohortView(**asdict(views.cohort(series, c, until))) for c in range(first, last + 1)
        ]
    )


@router.get("/v1/revenue/forecast", middlewares=[revenue_read], tags=["revenue"])
def get_forecast(months: Annotated[int, Query(ge=1, le=MAX_FORECAST_MONTHS)] = 12) -> ForecastView:
    """MRR for the months after this one, with a low/high band (docs/REVENUE.md)."""
    _operator_only()
    now = datetime.now(UTC).date()
    this_month = month_of_date(now)
    reader = _Reader()
    series = reader.series(this_month - FORECAST_HISTORY_MONTHS - 1, this_month)
    history = [series.figures(m) for m in range(this_month - FORECAST_HISTORY_MONTHS, this_month)]
    current_mrr, _ = series.level_on(this_month, now.day)
    forecast = forecast_mrr(
        history, current_mrr=current_mrr, first_month=this_month + 1, months=months
    )
    return ForecastView(
        method=forecast.method, points=[ForecastPointView(**asdict(p)) for p in forecast.points]
    )
