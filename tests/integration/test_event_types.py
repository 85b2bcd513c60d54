"""Every event type the issue lists is acted on: its object's state is stored; others are
logged ``ignored``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import customer, invoice, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import ingest, process, status_of, stored

CHARGE = {
    "id": "ch_1",
    "object": "charge",
    "customer": "cus_1",
    "status": "succeeded",
    "amount": 2000,
    "amount_refunded": 2000,
    "refunded": True,
    "currency": "usd",
    "invoice": "in_1",
}
DISPUTE = {
    "id": "dp_1",
    "object": "dispute",
    "charge": "ch_1",
    "amount": 2000,
    "currency": "usd",
    "reason": "fraudulent",
    "status": "needs_response",
}
SESSION = {
    "id": "cs_1",
    "object": "checkout.session",
    "customer": "cus_1",
    "mode": "subscription",
    "status": "complete",
    "payment_status": "paid",
    "subscription": "sub_1",
    "currency": "usd",
    "amount_total": 2000,
}
DISCOUNT = {
    "id": "di_1",
    "object": "discount",
    "customer": "cus_1",
    "subscription": "sub_1",
    "start": 100,
    "end": None,
    "coupon": {"id": "HALF", "percent_off": 50, "duration": "forever"},
}

ACTED_ON: list[tuple[str, dict[str, Any], str]] = [
    ("checkout.session.completed", SESSION, "checkout_session"),
    ("checkout.session.async_payment_succeeded", SESSION, "checkout_session"),
    ("checkout.session.async_payment_failed", SESSION, "checkout_session"),
    ("customer.created", customer(), "customer"),
    ("customer.updated", customer(), "customer"),
    ("customer.deleted", customer(), "customer"),
    *[
        (f"customer.subscription.{t}", subscription(), "subscription")
        for t in ("created", "updated", "deleted", "trial_will_end", "paused", "resumed")
    ],
    *[
        (f"invoice.{t}", invoice(), "invoice")
        for t in (
            "created",
            "finalized",
            "paid",
            "payment_succeeded",
            "payment_failed",
            "payment_action_required",
            "marked_uncollectible",
            "voided",
        )
    ],
    ("charge.refunded", CHARGE, "charge"),
    ("charge.dispute.created", DISPUTE, "dispute"),
    ("charge.dispute.closed", {**DISPUTE, "status": "lost"}, "dispute"),
    ("customer.discount.created", DISCOUNT, "discount"),
    ("customer.discount.deleted", DISCOUNT, "discount"),
]


@pytest.mark.parametrize(("event_type", "obj", "kind"), ACTED_ON, ids=[a[0] for a in ACTED_ON])
def test_each_listed_event_type_stores_its_object(
    aws: Aws, context: LambdaContext, event_type: str, obj: dict[str, Any], kind: str
) -> None:
    event = stripe_event(event_type, obj, created=100)
    assert process(aws, context, ingest(aws, context, event)) == {"batchItemFailures": []}
    assert status_of(aws, event["id"]) == "processed"
    state = stored(aws, kind, obj["id"])
    assert state is not None and state["version_event"] == event["id"]


def test_the_async_checkout_events_say_how_the_payment_ended(
    aws: Aws, context: LambdaContext
) -> None:
    failed = stripe_event(
        "checkout.session.async_payment_failed", {**SESSION, "payment_status": "unpaid"}, 100
    )
    process(aws, context, ingest(aws, context, failed))
    session = stored(aws, "checkout_session", "cs_1")
    assert session is not None and session["payment_status"] == "failed"


def test_a_refund_and_a_lost_dispute_are_kept(aws: Aws, context: LambdaContext) -> None:
    process(
        aws,
        context,
        ingest(
            aws,
            context,
            stripe_event("charge.refunded", CHARGE, 100),
            stripe_event("charge.dispute.created", DISPUTE, 100),
            stripe_event("charge.dispute.closed", {**DISPUTE, "status": "lost"}, 200),
        ),
    )
    charge, dispute = stored(aws, "charge", "ch_1"), stored(aws, "dispute", "dp_1")
    assert charge is not None and (charge["amount_refunded"], charge["refunded"]) == (2000, True)
    assert dispute is not None and (dispute["status"], dispute["charge"]) == ("lost", "ch_1")


def test_a_type_not_acted_on_is_ignored(aws: Aws, context: LambdaContext) -> None:
    event = stripe_event("payment_intent.created", {"id": "pi_1", "object": "payment_intent"})
    process(aws, context, ingest(aws, context, event))
    assert status_of(aws, event["id"]) == "ignored"
