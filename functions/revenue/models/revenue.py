"""The revenue API's answers (CONTRACT.md, Revenue routes): exactly these fields."""

from __future__ import annotations

from pydantic import BaseModel


class SummaryView(BaseModel):
    as_of: str
    currency: str
    mrr: int
    arr: int
    paying_customers: int
    arpu: int


class MonthView(BaseModel):
    month: str
    mrr_start: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    mrr_end: int
    customers_start: int
    customers_end: int


class MrrView(BaseModel):
    currency: str
    months: list[MonthView]


class ChurnView(BaseModel):
    month: str
    customer_churn_rate: float
    gross_mrr_churn_rate: float
    net_mrr_churn_rate: float
    grr: float
    nrr: float


class CohortView(BaseModel):
    cohort: str
    customers: int
    logo_retention: list[float]
    revenue_retention: list[float]


class CohortsView(BaseModel):
    cohorts: list[CohortView]


class ForecastPointView(BaseModel):
    month: str
    mrr: int
    low: int
    high: int


class ForecastView(BaseModel):
    method: str
    points: list[ForecastPointView]
