"""One month of revenue figures as the API shows them (docs/REVENUE.md, "Routes")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MonthFigures:
    """A month's MRR movements in minor units of the reporting currency.

    Contraction and churn are positive magnitudes, and always
    ``mrr_end = mrr_start + new + expansion + reactivation - contraction - churn``.
    """

    month: str  # YYYY-MM
    mrr_start: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    mrr_end: int
    customers_start: int
    customers_end: int
