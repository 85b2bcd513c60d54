"""API views of a customer and a subscription (docs/API.md, "Billing")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from billing.models.dunning import DunningCaseView
from cognitionos.timeutil import iso

MINOR_UNITS = "integer minor units of `currency` (cents for usd)"
CURRENCY = Field(description="Lower-case ISO 4217 code", examples=["usd"])


class SubscriptionItemView(BaseModel):
    id: str | None = Field(description="Stripe's subscription item id", examples=["si_Q1w2e3"])
    price: str | None = Field(description="Stripe's price id", examples=["price_1Pro"])
    product: str | None = Field(description="Stripe's product id", examples=["prod_Pro"])
    unit_amount: int | None = Field(
        description=f"Price per unit and interval, {MINOR_UNITS}", examples=[4900]
    )
    currency: str | None = CURRENCY
    interval: str | None = Field(
        description="Billing interval: `day`, `week`, `month` or `year`", examples=["month"]
    )
    interval_count: int | None = Field(description="Intervals per billing period", examples=[1])
    quantity: int = Field(description="Units subscribed", examples=[3])


class SubscriptionView(BaseModel):
    id: str = Field(description="Stripe's subscription id", examples=["sub_1QZ3nJFx8cLr0aB2"])
    customer: str | None = Field(
        description="Stripe's customer id", examples=["cus_NffrFeUfNV2Hib"]
    )
    status: str | None = Field(
        description="Stripe's status: `trialing`, `active`, `past_due`, `unpaid`, `paused`, "
        "`canceled`, `incomplete`, `incomplete_expired`",
        examples=["active"],
    )
    mrr: int = Field(
        description=f"What it contributes to MRR now, after discounts, {MINOR_UNITS}",
        examples=[14700],
    )
    currency: str | None = CURRENCY
    items: list[SubscriptionItemView] = Field(description="What is subscribed to")
    cancel_at_period_end: bool = Field(
        description="It ends when the current period does", examples=[False]
    )
    current_period_end: str | None = Field(
        description="When the current period ends, ISO-8601 UTC", examples=["2025-04-01T00:00:00Z"]
    )
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
    id: str = Field(description="Stripe's customer id", examples=["cus_NffrFeUfNV2Hib"])
    email: str | None = Field(
        description="Decrypted for the caller; null if unknown or erased",
        examples=["ada@example.com"],
    )
    name: str | None = Field(
        description="Decrypted for the caller; null if unknown or erased",
        examples=["Ada Lovelace"],
    )
    currency: str | None = CURRENCY
    mrr: int = Field(description=f"The customer's MRR now, {MINOR_UNITS}", examples=[14700])
    deleted: bool = Field(description="Deleted in Stripe", examples=[False])
    subscriptions: list[SubscriptionView] = Field(description="Every subscription, ended ones too")
    dunning: DunningCaseView | None = Field(
        description="The open dunning case, if a payment is being retried"
    )
