"""GET /v1/billing/customers/{id} and /v1/billing/subscriptions/{id}, and the event filters."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import customer, invoice, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_billing_api import get, key_for
from tests.integration.test_process_events import ingest, process


def annual_with_coupon(sub_id: str = "sub_y", customer_id: str = "cus_y") -> dict[str, Any]:
    sub = subscription(sub_id=sub_id, customer=customer_id, unit_amount=99_000, interval="year")
    sub["discount"] = {
        "id": "di_launch",
        "object": "discount",
        "coupon": {"id": "LAUNCH", "percent_off": 12.5, "duration": "forever"},
        "start": 50,
        "end": None,
        "subscription": sub_id,
    }
    return sub


def seed(aws: Aws, context: LambdaContext) -> None:
    events = [
        stripe_event("customer.created", {**customer("cus_y"), "currency": "usd"}, created=50),
        stripe_event("customer.subscription.created", annual_with_coupon(), created=100),
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id="sub_m", customer="cus_y", quantity=3),
            created=110,
        ),
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id="sub_other", customer="cus_other"),
            created=120,
        ),
        stripe_event("invoice.paid", invoice(invoice_id="in_y", customer="cus_y"), created=130),
    ]
    for body in ingest(aws, context, *events):  # in order, one customer at a time
        process(aws, context, [body])


def test_a_customer_shows_decrypted_contact_details_mrr_and_subscriptions(
    aws: Aws, context: LambdaContext
) -> None:
    seed(aws, context)

    status, body = get(context, "/v1/billing/customers/cus_y", aws.admin_key)

    assert status == 200
    assert (body["id"], body["email"], body["name"]) == (
        "cus_y",
        "jenny.rosen@example.com",
        "Jenny Rosen",
    )
    # $990 a year with 12.5% off = $72.1875 -> 7219; plus 3 seats at $20 = 6000
    assert (body["currency"], body["mrr"]) == ("usd", 13219)
    by_id = {s["id"]: s for s in body["subscriptions"]}
    assert (by_id["sub_y"]["mrr"], by_id["sub_m"]["mrr"]) == (7219, 6000)
    assert body["dunning"] is None


def test_personal_data_is_stored_only_encrypted(aws: Aws, context: LambdaContext) -> None:
    seed(aws, context)
    items = aws.table("billing").scan()["Items"]
    assert "jenny.rosen@example.com" not in json.dumps(items, default=str)
    assert "Jenny Rosen" not in json.dumps(items, default=str)


def test_a_subscription_has_the_contract_fields(aws: Aws, context: LambdaContext) -> None:
    seed(aws, context)

    status, body = get(context, "/v1/billing/subscriptions/sub_m", aws.admin_key)

    assert status == 200
    assert set(body) == {
        "id",
        "customer",
        "status",
        "mrr",
        "currency",
        "items",
        "cancel_at_period_end",
        "current_period_end",
        "discount_terms_unknown",
    }
    assert (body["customer"], body["status"], body["mrr"], body["currency"]) == (
        "cus_y",
        "active",
        6000,
        "usd",
    )
    assert body["items"][0]["quantity"] == 3
    assert body["current_period_end"] == "2025-03-01T00:00:00Z"


def test_unknown_ids_are_404(aws: Aws, context: LambdaContext) -> None:
    assert get(context, "/v1/billing/customers/cus_nobody", aws.admin_key)[0] == 404
    assert get(context, "/v1/billing/subscriptions/sub_nobody", aws.admin_key)[0] == 404


def test_a_tenant_key_sees_its_customer_and_gets_404_for_another(
    aws: Aws, context: LambdaContext
) -> None:
    seed(aws, context)
    key = key_for(aws, context, ["billing:read"], tenant="cus_other")

    assert get(context, "/v1/billing/customers/cus_other", key)[0] == 200
    assert get(context, "/v1/billing/subscriptions/sub_other", key)[0] == 200
    assert get(context, "/v1/billing/customers/cus_y", key)[0] == 404
    assert get(context, "/v1/billing/subscriptions/sub_m", key)[0] == 404
    assert get(context, "/v1/billing/events", key, {"customer": "cus_y"})[0] == 403


def test_a_key_without_billing_read_is_403(aws: Aws, context: LambdaContext) -> None:
    key = key_for(aws, context, ["revenue:read"])
    assert get(context, "/v1/billing/customers/cus_y", key)[0] == 403


def test_the_event_log_filters_by_customer(aws: Aws, context: LambdaContext) -> None:
    seed(aws, context)

    status, body = get(context, "/v1/billing/events", aws.admin_key, {"customer": "cus_other"})

    assert status == 200
    assert [e["type"] for e in body["events"]] == ["customer.subscription.created"]
    assert get(context, "/v1/billing/events", aws.admin_key, {"customer": "bad id"})[0] == 422


def test_an_erased_customer_shows_no_contact_details(aws: Aws, context: LambdaContext) -> None:
    from cognitionos.crypto import subject_keyring

    seed(aws, context)
    subject_keyring().destroy("cus_y")

    status, body = get(context, "/v1/billing/customers/cus_y", aws.admin_key)

    assert status == 200
    assert (body["email"], body["name"], body["mrr"]) == (None, None, 13219)
