"""GET /v1/billing/customers/{customer_id} and /v1/billing/subscriptions/{subscription_id}."""

from __future__ import annotations

import time
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from billing.dal.billing_state import BillingState
from billing.dal.dunning_cases import DunningCases
from billing.dal.personal_data import personal_field
from billing.logic.history import CustomerHistory
from billing.logic.movements import customer_mrr
from billing.models.customers import CustomerView, SubscriptionView
from billing.models.dunning import DunningCaseView
from billing.settings import api_settings
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.errors import NotFound
from cognitionos.http import (
    FORBIDDEN,
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)

router = APIGatewayHttpRouter()
billing_read = require_scope("billing:read")
STRIPE_ID = r"^[A-Za-z0-9_]{1,128}$"


def _state() -> BillingState:
    return BillingState(dynamodb_table(api_settings().billing_table))


@router.get(
    "/v1/billing/customers/<customer_id>",
    middlewares=[billing_read],
    tags=["billing"],
    summary="Get a customer",
    description=(
        "A Stripe customer as billing knows it: contact details (decrypted), MRR now, every "
        "subscription with its MRR, and the open dunning case. A tenant-bound key sees only "
        "its own customer. Needs `billing:read`."
    ),
    responses=documented_responses(
        "The customer",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: "Billing has seen nothing of this customer, or it is another tenant's",
            422: INVALID,
        },
    ),
)
def get_customer(
    customer_id: Annotated[
        str,
        Path(
            pattern=STRIPE_ID,
            description="Stripe's customer id",
            openapi_examples={"a customer": {"value": "cus_NffrFeUfNV2Hib"}},
        ),
    ],
) -> CustomerView:
    if not current_principal(router).can_see_tenant(customer_id):
        raise NotFound(f"no customer {customer_id}")  # another tenant's: existence would leak
    state = _state()
    customer = state.get("customer", customer_id) or {}
    history = state.history(customer_id)
    subscriptions = state.subscriptions_of(customer_id)
    if not (customer or history.entries or subscriptions):
        raise NotFound(f"no customer {customer_id}")
    now = int(time.time())
    coupons = state.coupon_terms(history.coupon_ids())
    currency, mrr = customer_mrr(history.records, customer.get("currency"), now)
    case = DunningCases(dynamodb_table(api_settings().billing_table)).open_case_of(customer_id)
    return CustomerView(
        id=customer_id,
        email=personal_field(customer, customer_id, "email", subject_keyring()),
        name=personal_field(customer, customer_id, "name", subject_keyring()),
        currency=currency,
        mrr=mrr,
        deleted=bool(customer.get("deleted")),
        subscriptions=[
            SubscriptionView.of(s, *history.subscription_now(s, coupons, now))
            for s in subscriptions
        ],
        dunning=DunningCaseView.of(case) if case else None,
    )


@router.get(
    "/v1/billing/subscriptions/<subscription_id>",
    middlewares=[billing_read],
    tags=["billing"],
    summary="Get a subscription",
    description=(
        "A subscription's newest state and what it contributes to MRR now, discounts "
        "applied (docs/REVENUE.md). A tenant-bound key sees only its customer's. Needs "
        "`billing:read`."
    ),
    responses=documented_responses(
        "The subscription",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: "No subscription has this id, or it is another tenant's",
            422: INVALID,
        },
        examples={404: "no subscription sub_1QZ3nJFx8cLr0aB2"},
    ),
)
def get_subscription(
    subscription_id: Annotated[
        str,
        Path(
            pattern=STRIPE_ID,
            description="Stripe's subscription id",
            openapi_examples={"a subscription": {"value": "sub_1QZ3nJFx8cLr0aB2"}},
        ),
    ],
) -> SubscriptionView:
    state = _state()
    sub = state.get("subscription", subscription_id)
    if sub is None or not current_principal(router).can_see_tenant(sub.get("customer_id")):
        raise NotFound(f"no subscription {subscription_id}")
    customer_id = sub.get("customer_id")
    history = state.history(customer_id) if customer_id else CustomerHistory("")
    coupons = state.coupon_terms(history.coupon_ids())
    return SubscriptionView.of(sub, *history.subscription_now(sub, coupons, int(time.time())))
