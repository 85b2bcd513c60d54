"""GET /v1/revenue/...: the figures of the last revenue-rollup run, in the reporting currency.

Every route answers the same months (``revenue.logic.periods``): a month after the current one
(a day after today), UTC, is refused with a 422 pointing at /v1/revenue/forecast; a month
before any revenue answers zeros, its rates 0 over their zero denominators.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.aws import dynamodb_table
from cognitionos.errors import Forbidden
from cognitionos.http import (
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)
from revenue.dal.rollup_store import RevenueStore
from revenue.logic import views
from revenue.logic.forecast import MAX_MONTHS as MAX_FORECAST_MONTHS
from revenue.logic.forecast import forecast_mrr
from revenue.logic.months import MONTH_PATTERN, Month, month_of_date
from revenue.logic.periods import (
    DATE_PATTERN,
    MAX_MONTHS,
    asked_day,
    asked_month,
    asked_range,
)
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
FORECAST_HISTORY_MONTHS = 12
revenue_read = require_scope("revenue:read")
# The patterns are documented, and checked by revenue.logic.periods, whose 422 names the
# parameter and the value (Powertools' would quote the pattern).
MonthParam = Annotated[
    str | None,
    Query(
        json_schema_extra={"pattern": MONTH_PATTERN},
        description="YYYY-MM, from 0001-01 to the current month (UTC); a later one is a 422",
        openapi_examples={"March 2025": {"value": "2025-03"}},
    ),
]
OPERATOR_NOTE = (
    "Amounts are integer minor units of the reporting currency, as of the last "
    "`revenue-rollup` run. Needs `revenue:read` on a key bound to no tenant."
)
FUTURE_NOTE = (
    "A month after the current one (UTC) is refused with a 422 pointing at "
    "`/v1/revenue/forecast`; a month before any revenue answers zeros."
)
RANGE_PROBLEMS = (
    "`start` or `end` is after the current month, `start` is after `end`, or the range "
    f"spans more than {MAX_MONTHS} months"
)


def _responses(success: str, invalid: str | None = None) -> dict[int, Any]:
    return documented_responses(
        success,
        {
            401: UNAUTHORIZED,
            403: "The key lacks `revenue:read`, or is bound to a tenant (revenue figures cover "
            "every customer)",
            422: f"{INVALID}; or {invalid}" if invalid else INVALID,
        },
        examples={
            403: "revenue figures cover every customer; a tenant-bound key cannot read them",
            422: "month 2031-01 is in the future (this month is 2030-12); see /v1/revenue/forecast",
        },
    )


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


@router.get(
    "/v1/revenue/summary",
    middlewares=[revenue_read],
    tags=["revenue"],
    summary="MRR, ARR, customers and ARPU on a day",
    description=(
        "MRR, ARR, paying customers and ARPU at the end of `as_of` (default: today, UTC). "
        "A day after today is refused with a 422 pointing at `/v1/revenue/forecast`; a day "
        f"before any revenue answers zeros. {OPERATOR_NOTE}"
    ),
    responses=_responses("The figures", "`as_of` is not a real day, or after today"),
)
def get_summary(
    as_of: Annotated[
        str | None,
        Query(
            description="YYYY-MM-DD, a real day from 0001-01-01 to today (UTC); default today",
            openapi_examples={"end of March 2025": {"value": "2025-03-31"}},
            json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
        ),
    ] = None,
) -> SummaryView:
    _operator_only()
    day = asked_day(as_of, datetime.now(UTC).date())
    month = month_of_date(day)
    reader = _Reader()
    figures = views.summary(reader.series(month - 1, month), month, day.day)
    return SummaryView(as_of=day.isoformat(), currency=reader.currency, **asdict(figures))


@router.get(
    "/v1/revenue/mrr",
    middlewares=[revenue_read],
    tags=["revenue"],
    summary="MRR movements per month",
    description=(
        f"Each month `start..end` (default: the 12 months to this one; at most {MAX_MONTHS}): "
        "its opening and closing MRR and customers, and the five movements between them. "
        f"{FUTURE_NOTE} {OPERATOR_NOTE}"
    ),
    responses=_responses("The months", RANGE_PROBLEMS),
)
def get_mrr(start: MonthParam = None, end: MonthParam = None) -> MrrView:
    _operator_only()
    first, last = asked_range(start, end, _this_month())
    reader = _Reader()
    series = reader.series(first - 1, last)
    return MrrView(
        currency=reader.currency,
        months=[MonthView(**asdict(series.figures(m))) for m in range(first, last + 1)],
    )


@router.get(
    "/v1/revenue/churn",
    middlewares=[revenue_read],
    tags=["revenue"],
    summary="Churn and retention rates of a month",
    description=(
        "Customer and MRR churn rates, GRR and NRR of `month` (default: this month). A month "
        "after the current one is refused with a 422 pointing at `/v1/revenue/forecast`; a "
        "month that began with no MRR, such as one before any revenue, has every rate 0 (zero "
        f"denominator). {OPERATOR_NOTE}"
    ),
    responses=_responses("The rates", "`month` is after the current month"),
)
def get_churn(month: MonthParam = None) -> ChurnView:
    _operator_only()
    this_month = _this_month()
    at = asked_month("month", month, this_month) if month is not None else this_month
    return ChurnView(**asdict(views.churn_rates(_Reader().series(at - 1, at), at)))


@router.get(
    "/v1/revenue/cohorts",
    middlewares=[revenue_read],
    tags=["revenue"],
    summary="Monthly cohorts and their retention",
    description=(
        "The cohorts `start..end` (default: the 12 months to this one; at most "
        f"{MAX_MONTHS}): each one's customers, and its logo and revenue retention k months "
        "on, to this month. A month after the current one is refused with a 422 pointing at "
        "`/v1/revenue/forecast`; a cohort before any revenue has 0 customers and retention 0 "
        f"throughout. {OPERATOR_NOTE}"
    ),
    responses=_responses("The cohorts", RANGE_PROBLEMS),
)
def get_cohorts(start: MonthParam = None, end: MonthParam = None) -> CohortsView:
    _operator_only()
    until = _this_month()
    first, last = asked_range(start, end, until)
    series = _Reader().series(first, until)
    return CohortsView(
        cohorts=[
            CohortView(**asdict(views.cohort(series, c, until))) for c in range(first, last + 1)
        ]
    )


@router.get(
    "/v1/revenue/forecast",
    middlewares=[revenue_read],
    tags=["revenue"],
    summary="MRR forecast",
    description=(
        "Projected MRR for the months after this one, with a low/high band, from a movement "
        'model fitted on up to 12 complete months (docs/REVENUE.md, "Forecast"). '
        f"{OPERATOR_NOTE}"
    ),
    responses=_responses("The forecast"),
)
def get_forecast(
    months: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_FORECAST_MONTHS,
            description="How many months to project",
            openapi_examples={"a year": {"value": 12}},
        ),
    ] = 12,
) -> ForecastView:
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
