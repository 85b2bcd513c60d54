"""API views of a customer and a subscription (CONTRACT.md, Billing routes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from billing.models.dunning import DunningCaseView
from cognitionos.timeutil import iso


class SubscriptionItemView(BaseModel):
    id: str | None
    price: str | None
    product: str | None
    unit_amount: int | None
    currency: str | None
    interval: str | None
    interval_count: int | None
    quantity: int


class SubscriptionView(BaseModel):
    id: str
    customer: str | None
    status: str | None
    mrr: int
    currency: str | None
    items: list[SubscriptionItemView]
    cancel_at_period_end: bool
    current_period_end: str | None
    discount_terms_unknown: bool = Field(
        description=(
            "A discount on the subscription whose coupon's terms billing has not seen yet "
            "(no coupon.* event, no Stripe key to read it): mrr leaves it out until they arrive"
        )
    )

    @classmethod
    def of(cls, state: dict[str, Any], mrr: int, terms_unknown: bool) -> SubscriptionView:
        period_end = state.get("current_period_end")
        return cls(
            id=state["id"],
            customer=state.get("customer_id"),
            status=state.get("status"),
            mrr=mrr,
            currency=state.get("currency"),
            items=[
                SubscriptionItemView(
                    id=i.get("id"),
                    price=i.get("price_id"),
                    product=i.get("product"),
                    unit_amount=i.get("unit_amount"),
                    currency=i.get("currency"),
                    interval=i.get("interval"),
                    interval_count=i.get("interval_count"),
                    quantity=int(i.get("quantity") or 0),
                )
                for i in state.get("items") or []
            ],
            cancel_at_period_end=bool(state.get("cancel_at_period_end")),
            current_period_end=iso(int(period_end)) if period_end else None,
            discount_terms_unknown=terms_unknown,
        )


class CustomerView(BaseModel):
    id: str
    email: str | None
    name: str | None
    currency: str | None
    mrr: int
    deleted: bool
    subscriptions: list[SubscriptionView]
    dunning: DunningCaseView | None
