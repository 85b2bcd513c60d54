"""Failures the billing processor must not hide or let spread: a follow-up that fails after
the commit, an event whose object lacks what billing needs, a slow Stripe, and a batch that
runs out of time."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.factories import customer, invoice, stripe_event, subscription
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_billing_api import get
from tests.integration.test_process_events import ingest, process, status_of, stored


def bystander() -> dict[str, Any]:
    """Another customer's event in the same batch: a batch whose every record fails is
    failed whole by Powertools, so each test keeps one record that must succeed."""
    return stripe_event("customer.subscription.created", subscription("sub_by", "cus_by"))


def failed_payment(created: int) -> dict[str, Any]:
    raw = invoice("in_f", status="open") | {"attempt_count": 1, "next_payment_attempt": None}
    return stripe_event("invoice.payment_failed", raw, created=created)


def test_a_dunning_follow_up_that_fails_after_the_commit_shows_on_the_event_and_is_retried(
    aws: Aws, context: LambdaContext
) -> None:
    ses = boto3.client("ses")
    template_name = aws.env["DUNNING_PAYMENT_FAILED_EMAIL_TEMPLATE"]
    template = ses.get_template(TemplateName=template_name)["Template"]
    process(aws, context, ingest(aws, context, stripe_event("customer.created", customer())))
    event = failed_payment(created=1000)
    [body, other] = ingest(aws, context, event, bystander())
    ses.delete_template(TemplateName=template_name)  # SES refuses the email for now

    first = process(aws, context, [body, other])

    status, shown = get(context, f"/v1/billing/events/{event['id']}", aws.admin_key)
    assert status == 200 and shown["status"] == "failed"
    assert shown["error"].startswith("follow-up failed after billing state was applied")
    assert "TemplateDoesNotExist" in shown["error"]
    assert len(first["batchItemFailures"]) == 1  # back to the queue, then the DLQ
    assert stored(aws, "invoice", "in_f") is not None  # the state itself was committed

    ses.create_template(Template=template)
    again = process(aws, context, [body])

    status, shown = get(context, f"/v1/billing/events/{event['id']}", aws.admin_key)
    assert again == {"batchItemFailures": []}
    assert (shown["status"], shown["error"]) == ("processed", None)
    _, dunning = get(context, "/v1/billing/dunning", aws.admin_key)
    [case] = dunning["cases"]
    assert case["email_status"] == "sent"


@pytest.mark.parametrize(
    ("event_type", "obj", "missing"),
    [
        (
            "customer.subscription.updated",
            {k: v for k, v in subscription().items() if k != "customer"},
            "customer",
        ),
        (
            "customer.subscription.created",
            {k: v for k, v in subscription().items() if k not in ("customer", "status")},
            "customer, status",
        ),
        (
            "customer.discount.created",
            {"id": "di_x", "object": "discount", "customer": "cus_1", "start": 10},
            "source.coupon",
        ),
        ("coupon.created", {"id": "co_x", "object": "coupon", "duration": "forever"}, "off"),
    ],
)
def test_an_object_without_what_billing_needs_is_failed_naming_it_and_nothing_is_stored(
    aws: Aws, context: LambdaContext, event_type: str, obj: dict[str, Any], missing: str
) -> None:
    event = stripe_event(event_type, obj, created=500)

    result = process(aws, context, ingest(aws, context, event, bystander()))

    _, shown = get(context, f"/v1/billing/events/{event['id']}", aws.admin_key)
    assert shown["status"] == "failed"
    assert missing in shown["error"] and "nothing of it is stored" in shown["error"]
    assert len(result["batchItemFailures"]) == 1
    kind = {"customer": "subscription", "coupon": "coupon"}.get(
        event_type.split(".", maxsplit=1)[0]
    )
    assert stored(aws, kind or "discount", obj["id"]) is None
    pks = {i["pk"] for i in aws.table("billing").scan()["Items"]}
    assert {pk for pk in pks if not pk.startswith("EVENT#")} == {
        "SUBSCRIPTION#sub_by",
        "HISTORY#cus_by",
    }


@pytest.fixture
def quick_stripe(monkeypatch: pytest.MonkeyPatch, stripe_api: FakeStripe) -> FakeStripe:
    """The Stripe door with a 0.3 s read timeout, as configured for the tests' fake."""
    from billing.dal import stripe_api as door

    monkeypatch.setattr(door, "READ_TIMEOUT_S", 0.3)
    door.stripe_api.cache_clear()
    yield stripe_api
    door.stripe_api.cache_clear()


def tie(customer_id: str) -> list[dict[str, Any]]:
    """Two versions of one subscription in one second: with a key, a re-fetch settles it."""
    sub = subscription(sub_id=f"sub_{customer_id}", customer=customer_id)
    return [
        stripe_event("customer.subscription.created", sub, created=700),
        stripe_event("customer.subscription.updated", {**sub, "status": "past_due"}, created=700),
    ]


def test_a_slow_stripe_fails_its_own_record_and_not_the_other_customers_in_the_batch(
    aws: Aws, context: LambdaContext, quick_stripe: FakeStripe
) -> None:
    from billing.dal.stripe_api import MAX_NETWORK_RETRIES

    quick_stripe.delay_s = 2.0  # longer than the read timeout: the call times out
    slow_first, slow_tied = tie("cus_slow")
    process(aws, context, ingest(aws, context, slow_first))
    others = [
        stripe_event("customer.subscription.created", subscription(f"sub_{n}", f"cus_{n}"))
        for n in range(3)
    ]
    bodies = ingest(aws, context, slow_tied, *others)

    started = time.monotonic()
    result = process(aws, context, bodies)
    took = time.monotonic() - started

    assert len(result["batchItemFailures"]) == 1
    assert all(status_of(aws, e["id"]) == "processed" for e in others)
    assert status_of(aws, slow_tied["id"]) == "failed"
    assert quick_stripe.gets("/v1/subscriptions/sub_cus_slow") == 1 + MAX_NETWORK_RETRIES
    # (1 + retries) x 0.3 s timeouts and the SDK's backoff, not 80 s per try
    assert took < 10, took


def test_no_stripe_call_starts_that_cannot_finish_before_the_function_times_out(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.dal.stripe_api import WORST_CALL_S

    first, tied = tie("cus_late")
    process(aws, context, ingest(aws, context, first))
    bodies = ingest(aws, context, tied, bystander())
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: int(WORST_CALL_S * 500))

    result = process(aws, context, bodies)

    assert len(result["batchItemFailures"]) == 1
    assert stripe_api.requests == []
    _, shown = get(context, f"/v1/billing/events/{tied['id']}", aws.admin_key)
    assert shown["status"] == "failed" and "DeadlineNear" in shown["error"]


def test_records_left_when_time_runs_out_go_back_to_the_queue_unstarted(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [
        stripe_event("customer.subscription.created", subscription(f"sub_{n}", f"cus_{n}"))
        for n in range(3)
    ]
    bodies = ingest(aws, context, *events)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: 1000)

    # Every record failed, so Powertools fails the invocation: the batch returns whole.
    with pytest.raises(BatchProcessingError, match="All records failed"):
        process(aws, context, bodies)

    assert {status_of(aws, e["id"]) for e in events} == {"queued"}
