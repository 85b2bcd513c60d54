"""Two versions of one object in the same second: re-fetched from Stripe when a key is
configured, else ordered by status precedence; the same content twice is one version."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import invoice, stripe_event, subscription
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import ingest, process, stored


def deliver(aws: Aws, context: LambdaContext, *events: dict[str, Any]) -> list[dict[str, Any]]:
    results = [process(aws, context, [body]) for body in ingest(aws, context, *events)]
    return results


def test_without_a_key_paid_beats_open_in_the_same_second_in_either_order(
    aws: Aws, context: LambdaContext
) -> None:
    for order, invoice_id in ((("open", "paid"), "in_tie_a"), (("paid", "open"), "in_tie_b")):
        deliver(
            aws,
            context,
            *(
                stripe_event(
                    "invoice.updated" if s == "open" else "invoice.paid",
                    invoice(invoice_id, status=s),
                    created=500,
                )
                for s in order
            ),
        )
        inv = stored(aws, "invoice", invoice_id)
        assert inv is not None and inv["status"] == "paid", order


def test_without_a_key_canceled_beats_active_in_the_same_second(
    aws: Aws, context: LambdaContext
) -> None:
    canceled = {**subscription(sub_id="sub_tie"), "status": "canceled", "ended_at": 700}
    deliver(
        aws,
        context,
        stripe_event("customer.subscription.deleted", canceled, created=700),
        stripe_event("customer.subscription.updated", subscription(sub_id="sub_tie"), created=700),
    )
    sub = stored(aws, "subscription", "sub_tie")
    assert sub is not None and sub["status"] == "canceled"


def test_with_a_key_stripes_current_object_chooses_between_the_tied_versions(
    aws: Aws,
    context: LambdaContext,
    stripe_api: FakeStripe,
) -> None:
    # Stripe says open (a retry is scheduled, a later attempt): precedence alone would have
    # said paid. The re-fetch only chooses: the stored version is the tied one, attempt 1.
    current = {**invoice("in_tie_k", status="open"), "attempt_count": 2}
    stripe_api.invoices["in_tie_k"] = current
    deliver(
        aws,
        context,
        stripe_event("invoice.paid", invoice("in_tie_k", status="paid"), created=800),
        stripe_event("invoice.updated", invoice("in_tie_k", status="open"), created=800),
    )
    inv = stored(aws, "invoice", "in_tie_k")
    assert inv is not None and (inv["status"], inv["attempt_count"]) == ("open", 1)
    gets = [r for r in stripe_api.requests if r[0] == "GET" and r[1] == "/v1/invoices/in_tie_k"]
    assert len(gets) == 1


def test_with_a_key_no_tie_means_no_call_to_stripe(
    aws: Aws,
    context: LambdaContext,
    stripe_api: FakeStripe,
) -> None:
    deliver(
        aws,
        context,
        stripe_event("invoice.finalized", invoice("in_nt", status="open"), created=900),
        stripe_event("invoice.paid", invoice("in_nt", status="paid"), created=901),
    )
    assert stripe_api.requests == []


def test_the_same_change_under_two_event_ids_has_one_effect(
    aws: Aws, context: LambdaContext
) -> None:
    first = stripe_event(
        "customer.subscription.updated", subscription(sub_id="sub_twice", quantity=2), created=1000
    )
    second = {**json.loads(json.dumps(first)), "id": "evt_secondcopy0001"}
    deliver(aws, context, first, second)

    sub = stored(aws, "subscription", "sub_twice")
    history = aws.table("billing").query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "HISTORY#cus_1"}
    )["Items"]
    assert sub is not None and sub["version_event"] == first["id"]
    assert len([i for i in history if i["sk"].startswith("SUBSCRIPTION#sub_twice#")]) == 1
    records = next(i for i in history if i["sk"] == "MRR")["records"]
    assert len(records) == 1


def test_a_tie_re_fetched_after_a_later_cancellation_keeps_the_new_and_the_churn(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    """Created and upgraded in one second; by the time the tie is seen, Stripe's object is
    canceled. The re-fetch only picks the upgrade (it agrees on the items); the cancellation
    stays at its own time, so the customer is new at 1000 and churns at 5000."""
    from billing.dal.billing_state import BillingState

    one = subscription(sub_id="sub_late", customer="cus_late", quantity=1)
    two = subscription(sub_id="sub_late", customer="cus_late", quantity=2)
    canceled = {**two, "status": "canceled", "ended_at": 5000, "canceled_at": 5000}
    stripe_api.subscriptions["sub_late"] = canceled

    deliver(
        aws,
        context,
        stripe_event("customer.subscription.created", one, created=1000),
        stripe_event("customer.subscription.updated", two, created=1000),
        stripe_event("customer.subscription.deleted", canceled, created=5000),
    )

    records = BillingState(aws.table("billing")).mrr_changes("cus_late")
    assert [(r.effective_at, r.kind, r.mrr_from, r.mrr_to) for r in records] == [
        (1000, "new", 0, 4000),
        (5000, "churn", 4000, 0),
    ]
    assert stripe_api.gets("/v1/subscriptions/sub_late") == 1
    sub = stored(aws, "subscription", "sub_late")
    assert sub is not None and sub["status"] == "canceled"
