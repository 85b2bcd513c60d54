"""The Stripe reads billing makes, through the official SDK, against a fake Stripe over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.dal.stripe_api import StripeApi, stripe_api
from tests.factories import invoice, subscription
from tests.fakes.stripe_api import FakeStripe, fake_stripe


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with fake_stripe() as server:
        yield server


def test_listing_subscriptions_pages_through_all_of_them_canceled_included(
    fake: FakeStripe,
) -> None:
    for n in range(150):
        sub = subscription(sub_id=f"sub_{n:03d}", status="canceled" if n % 3 else "active")
        fake.subscriptions[sub["id"]] = sub

    listed = list(StripeApi("sk_test_list", fake.url).subscriptions())

    assert [s["id"] for s in listed] == list(fake.subscriptions)
    pages = [query for _, path, query, _ in fake.requests if path == "/v1/subscriptions"]
    assert len(pages) == 2
    assert all(page["status"] == ["all"] and page["limit"] == ["100"] for page in pages)
    assert pages[1]["starting_after"] == ["sub_099"]


def test_retrieving_returns_each_kind_as_plain_json(fake: FakeStripe) -> None:
    sub = subscription()
    sub["items"]["data"][0]["price"]["unit_amount_decimal"] = "2000.5"
    fake.subscriptions["sub_1"] = sub
    fake.invoices["in_1"] = invoice()
    fake.customers["cus_1"] = {"id": "cus_1", "object": "customer", "currency": "usd"}
    api = StripeApi("sk_test_get", fake.url)

    got = api.retrieve("subscription", "sub_1")

    assert got == sub  # a decimal string stays a string, ready for json.dumps
    assert api.retrieve("invoice", "in_1")["status"] == "paid"
    assert api.retrieve("customer", "cus_1")["currency"] == "usd"
    assert [path for _, path, _, _ in fake.requests] == [
        "/v1/subscriptions/sub_1",
        "/v1/invoices/in_1",
        "/v1/customers/cus_1",
    ]


def test_retrieving_an_unknown_id_answers_none_after_stripes_404(fake: FakeStripe) -> None:
    assert StripeApi("sk_test_get", fake.url).retrieve("customer", "cus_missing") is None
    assert [path for _, path, _, _ in fake.requests] == ["/v1/customers/cus_missing"]


def test_retrieving_a_kind_billing_does_not_store_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot retrieve a Stripe 'charge'"):
        StripeApi("sk_test_get", "http://127.0.0.1:9").retrieve("charge", "ch_1")  # type: ignore[arg-type]


def test_one_client_per_key_and_execution_environment() -> None:
    stripe_api.cache_clear()
    first = stripe_api("sk_test_a", "http://127.0.0.1:9")
    assert stripe_api("sk_test_a", "http://127.0.0.1:9") is first
    assert stripe_api("sk_test_rotated", "http://127.0.0.1:9") is not first
