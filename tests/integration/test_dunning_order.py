"""A subscription deleted for non-payment whose deletion arrives before its payment
failures: the dunning case ends as in-order delivery leaves it, through the webhook, the
processor and the dunning route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import customer, invoice, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_billing_api import get
from tests.integration.test_process_events import ingest, process

FAILURES = (1000, 1000 + 3 * 86400, 1000 + 8 * 86400)
ENDED = 1000 + 15 * 86400


def story() -> list[dict[str, Any]]:
    """Three failed attempts, the subscription past due at the first, canceled for
    ``payment_failed`` after the last."""
    sub = subscription("sub_d", "cus_d")
    events = [
        stripe_event("customer.created", customer("cus_d"), created=500),
        stripe_event("customer.subscription.created", sub, created=600),
        stripe_event("customer.subscription.updated", {**sub, "status": "past_due"}, created=1000),
    ]
    for attempt, at in enumerate(FAILURES, start=1):
        raw = invoice("in_d", "cus_d", status="open", sub_id="sub_d") | {
            "attempt_count": attempt,
            "next_payment_attempt": None if attempt == len(FAILURES) else FAILURES[attempt],
        }
        events.append(stripe_event("invoice.payment_failed", raw, created=at))
    canceled = {
        **sub,
        "status": "canceled",
        "ended_at": ENDED,
        "cancellation_details": {"reason": "payment_failed"},
    }
    events.append(stripe_event("customer.subscription.deleted", canceled, created=ENDED))
    return events


def case_after(aws: Aws, context: LambdaContext, events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in events:
        process(aws, context, ingest(aws, context, event))
    status, body = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "exhausted"})
    assert status == 200
    [case] = body["cases"]
    return {k: case[k] for k in ("status", "attempt_count", "closed_reason", "churn", "opened_at")}


@pytest.mark.parametrize("order", ["in order", "deletion first", "reversed"])
def test_a_case_ends_with_its_attempts_and_involuntary_churn_in_any_order(
    aws: Aws, context: LambdaContext, order: str
) -> None:
    events = story()
    if order == "deletion first":
        events = [*events[:3], events[-1], *events[3:-1]]
    elif order == "reversed":
        events = events[:3] + events[:2:-1]

    assert case_after(aws, context, events) == {
        "status": "exhausted",
        "attempt_count": 3,
        "closed_reason": "subscription_canceled",
        "churn": "involuntary",
        "opened_at": "1970-01-01T00:16:40Z",
    }
