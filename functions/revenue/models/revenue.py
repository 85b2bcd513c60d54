"""The revenue API's answers (docs/REVENUE.md, "Routes" and "Definitions"): exactly these
fields."""

from __future__ import annotations

from pydantic import BaseModel, Field

AMOUNT = "integer minor units of the reporting currency"
RATE = "a fraction, 4 places, half to even; 0 when its denominator is 0"
MONTH = Field(description="YYYY-MM", examples=["2025-03"])
CURRENCY = Field(description="The reporting currency, lower-case ISO 4217", examples=["usd"])


class SummaryView(BaseModel):
    as_of: str = Field(
        description="The day (YYYY-MM-DD) whose end the figures are at", examples=["2025-03-31"]
    )
    currency: str = CURRENCY
    mrr: int = Field(description=f"Monthly recurring revenue, {AMOUNT}", examples=[1250000])
    arr: int = Field(description=f"12 x MRR, {AMOUNT}", examples=[15000000])
    paying_customers: int = Field(description="Customers with MRR above 0", examples=[85])
    arpu: int = Field(
        description=f"MRR ÷ paying customers, half to even, {AMOUNT}", examples=[14706]
    )


class MonthView(BaseModel):
    month: str = MONTH
    mrr_start: int = Field(
        description=f"The previous month's `mrr_end`, {AMOUNT}", examples=[1200000]
    )
    new: int = Field(description=f"MRR of first-time customers, {AMOUNT}", examples=[60000])
    expansion: int = Field(description=f"MRR added by paying customers, {AMOUNT}", examples=[20000])
    contraction: int = Field(
        description=f"MRR lost by customers who still pay, {AMOUNT}", examples=[10000]
    )
    churn: int = Field(
        description=f"MRR of customers who stopped paying, {AMOUNT}", examples=[30000]
    )
    reactivation: int = Field(
        description=f"MRR of customers who paid before, stopped, and pay again, {AMOUNT}",
        examples=[10000],
    )
    mrr_end: int = Field(
        description="mrr_start + new + expansion + reactivation - contraction - churn",
        examples=[1250000],
    )
    customers_start: int = Field(description="Paying customers when it began", examples=[82])
    customers_end: int = Field(description="Paying customers when it ended", examples=[85])


class MrrView(BaseModel):
    currency: str = CURRENCY
    months: list[MonthView] = Field(description="Each month of the range, oldest first")


class ChurnView(BaseModel):
    month: str = MONTH
    customer_churn_rate: float = Field(
        description=f"Customers who churned ÷ customers paying at the start; {RATE}",
        examples=[0.0244],
    )
    gross_mrr_churn_rate: float = Field(
        description=f"(churn + contraction) ÷ mrr_start; {RATE}", examples=[0.0333]
    )
    net_mrr_churn_rate: float = Field(
        description=f"(churn + contraction - expansion - reactivation) ÷ mrr_start, negative "
        f"when expansion outgrows losses; {RATE}",
        examples=[0.0083],
    )
    grr: float = Field(
        description=f"Gross revenue retention of the customers paying at the start; {RATE}",
        examples=[0.9667],
    )
    nrr: float = Field(
        description=f"Net revenue retention of the customers paying at the start; {RATE}",
        examples=[0.9833],
    )


class CohortView(BaseModel):
    cohort: str = Field(
        description="The month of its customers' first MRR, YYYY-MM", examples=["2025-01"]
    )
    customers: int = Field(description="Customers in the cohort", examples=[12])
    logo_retention: list[float] = Field(
        description="k months on (k = 0, 1, ... to this month): the share still paying",
        examples=[[1.0, 0.9167, 0.8333]],
    )
    revenue_retention: list[float] = Field(
        description="k months on: the cohort's MRR ÷ its MRR at the end of its first month",
        examples=[[1.0, 0.95, 1.02]],
    )


class CohortsView(BaseModel):
    cohorts: list[CohortView] = Field(description="Each cohort of the range, oldest first")


class ForecastPointView(BaseModel):
    month: str = MONTH
    mrr: int = Field(description=f"Projected MRR at the month's end, {AMOUNT}", examples=[1290000])
    low: int = Field(description=f"The band's low end, {AMOUNT}", examples=[1210000])
    high: int = Field(description=f"The band's high end, {AMOUNT}", examples=[1370000])


class ForecastView(BaseModel):
    method: str = Field(
        description="One sentence: what was fitted, on how many months",
        examples=[
            "Movement model fitted on 12 complete months (2024-03 to 2025-02): each month MRR "
            "x (1 + 1.20% expansion - 0.40% contraction - 2.10% churn) + 61000 new and "
            "reactivated MRR (minor units, recency-weighted mean); 80% band from a 1.10% "
            "monthly spread, widening with the horizon."
        ],
    )
    points: list[ForecastPointView] = Field(description="The months after this one, in order")
