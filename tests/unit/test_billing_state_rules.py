"""What billing keeps of each Stripe object: non-personal fields, both API shapes."""

from __future__ import annotations

from billing.logic.envelope import envelope_from
from billing.logic.state import invoice_subscription, state_change, subscription_state
from tests.factories import invoice, stripe_event, subscription


def test_basil_subscriptions_take_the_period_from_their_items() -> None:
    state = subscription_state(subscription(quantity=3, period_end=1_750_000_000))
    assert state["current_period_end"] == 1_750_000_000
    assert (state["items"][0]["quantity"], state["items"][0]["unit_amount"]) == (3, 2000)


def test_older_subscriptions_keep_the_period_on_the_subscription() -> None:
    legacy = subscription()
    for item in legacy["items"]["data"]:
        del item["current_period_end"]
    legacy["current_period_end"] = 1_600_000_000
    assert subscription_state(legacy)["current_period_end"] == 1_600_000_000


def test_invoices_find_their_subscription_in_either_shape() -> None:
    assert invoice_subscription(invoice(sub_id="sub_new")) == "sub_new"
    legacy = invoice() | {"parent": None, "subscription": "sub_old"}
    assert invoice_subscription(legacy) == "sub_old"
    assert invoice_subscription(invoice() | {"parent": None}) is None


def test_customer_changes_keep_no_personal_data() -> None:
    customer = {
        "id": "cus_1",
        "object": "customer",
        "email": "a@example.com",
        "name": "Ada",
        "currency": "eur",
    }
    change = state_change(envelope_from(stripe_event("customer.updated", customer)))
    assert change is not None
    assert change.attributes == {"currency": "eur", "deleted": False}


def test_a_type_billing_does_not_act_on_yields_no_change() -> None:
    assert (
        state_change(
            envelope_from(stripe_event("charge.succeeded", {"id": "ch_1", "object": "charge"}))
        )
        is None
    )
