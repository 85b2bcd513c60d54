"""Discounts that name their coupon by id (API versions from 2025-09-30.clover on), through
the webhook and the processor: the scripted history of tests/coupon_history.py in order and
shuffled with duplicates, with coupon events and with a Stripe key instead, ends in the
hand-worked MRR; a coupon that arrives after its discount re-derives the customer; with
neither source, the subscription says its discount terms are unknown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.coupon_history import (
    COUPONS,
    EXPECTED_MRR,
    EXPECTED_RECORDS,
    coupon_history,
    shuffled_with_duplicates,
)
from tests.factories import sign, sqs_event
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext
from tests.integration.test_billing_api import get
from tests.integration.test_stripe_webhook import post_webhook

# With a key, these coupons' events never come (the endpoint was not sent them): they are
# read from Stripe, once each.
WITHHELD = frozenset({"co_pct20", "co_free100", "co_rep50"})


def deliver(aws: Aws, context: LambdaContext, events: list[dict[str, Any]]) -> None:
    """Each delivery through the webhook (an event id seen before is an SQS redelivery of
    its message), then everything the processor queued (re-derivations) until none is left."""
    from billing.handlers.process_events import lambda_handler

    seen: set[str] = set()
    for event in events:
        body = json.dumps(event)
        if event["id"] in seen:
            bodies = [body]
        else:
            seen.add(event["id"])
            assert post_webhook(body, sign(body, WEBHOOK_SECRET), context)["statusCode"] == 200
            bodies = [m["Body"] for m in aws.receive("billing-events")]
        while bodies:
            for one in bodies:
                batch = sqs_event([one], aws.queue_arns["billing-events"], group_of=_group)
                assert lambda_handler(batch, context) == {"batchItemFailures": []}
            bodies = [m["Body"] for m in aws.receive("billing-events")]


def _group(message: dict[str, Any]) -> str:
    obj = message.get("data", {}).get("object", {})
    return str(message.get("customer_id") or obj.get("customer") or obj.get("id"))


def figures(aws: Aws, context: LambdaContext) -> dict[str, Any]:
    """What the API and the change records say about each customer."""
    from billing.dal.billing_state import BillingState

    state = BillingState(aws.table("billing"))
    found = {}
    for customer_id in EXPECTED_MRR:
        status, view = get(context, f"/v1/billing/customers/{customer_id}", aws.admin_key)
        assert status == 200, view
        records = [(r.kind, r.mrr_from, r.mrr_to) for r in state.mrr_changes(customer_id)]
        found[customer_id] = {
            "mrr": view["mrr"],
            "subscription_mrr": [s["mrr"] for s in view["subscriptions"]],
            "terms_unknown": [s["discount_terms_unknown"] for s in view["subscriptions"]],
            "records": records,
        }
    return found


EXPECTED = {
    customer_id: {
        "mrr": mrr,
        "subscription_mrr": [mrr],
        "terms_unknown": [False],
        "records": EXPECTED_RECORDS[customer_id],
    }
    for customer_id, mrr in EXPECTED_MRR.items()
}


@pytest.mark.parametrize("order", ["in order", "shuffled"])
def test_coupons_by_id_from_coupon_events_give_the_hand_worked_mrr(
    aws: Aws, context: LambdaContext, order: str
) -> None:
    events = coupon_history()
    deliver(aws, context, events if order == "in order" else shuffled_with_duplicates(events, 7))

    assert figures(aws, context) == EXPECTED


@pytest.mark.parametrize("order", ["in order", "shuffled"])
def test_with_a_key_coupons_never_sent_are_read_from_stripe_once_each(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe, order: str
) -> None:
    stripe_api.coupons = {c.id: c.object for c in COUPONS.values()}
    events = [
        e
        for e in coupon_history()
        if not (e["type"].startswith("coupon.") and e["data"]["object"]["id"] in WITHHELD)
    ]
    deliver(aws, context, events if order == "in order" else shuffled_with_duplicates(events, 11))

    assert figures(aws, context) == EXPECTED
    reads = {c: stripe_api.gets(f"/v1/coupons/{c}") for c in COUPONS}
    # Withheld ones are read; a sent one only if its discount came first (shuffled).
    assert all(n <= 1 for n in reads.values()), reads
    assert {c for c, n in reads.items() if n} >= WITHHELD
    if order == "in order":
        assert {c for c, n in reads.items() if n} == WITHHELD
    assert set(stripe_api.stripe_versions) == {"2026-10-28.endive"}  # the events' version


def test_without_a_source_the_discount_is_flagged_until_its_coupon_arrives(
    aws: Aws, context: LambdaContext
) -> None:
    events = coupon_history()
    coupon_event = next(
        e
        for e in events
        if e["type"] == "coupon.created" and e["data"]["object"]["id"] == "co_pct20"
    )
    deliver(aws, context, [e for e in events if e is not coupon_event])

    before = figures(aws, context)["cus_pct"]
    _, sub = get(context, "/v1/billing/subscriptions/sub_pct", aws.admin_key)
    assert (before["mrr"], before["terms_unknown"]) == (5000, [True])  # full price, said so
    assert sub["discount_terms_unknown"] is True

    deliver(aws, context, [coupon_event])  # the coupon arrives after its discount

    assert figures(aws, context)["cus_pct"] == EXPECTED["cus_pct"]
    awaiting = aws.table("billing").get_item(
        Key={"pk": "COUPON#co_pct20", "sk": "AWAITING#cus_pct"}
    )
    assert "Item" not in awaiting  # nothing waits for it any more
