"""The billing-reconcile job against a fake Stripe API: undelivered events are caught up once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest

from cognitionos.jobs import schedule_event
from tests.factories import stripe_event, subscription
from tests.fakes.stripe_api import FakeStripe, fake_stripe
from tests.integration.conftest import Aws, LambdaContext, reset_runtime_caches


@pytest.fixture
def stripe_api(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.env["STRIPE_API_KEY_SECRET_ID"], SecretString="sk_test_reconcile"
    )
    with fake_stripe() as fake:
        monkeypatch.setenv("STRIPE_API_BASE", fake.url)
        reset_runtime_caches()
        yield fake


def run_job(context: LambdaContext) -> dict[str, object]:
    from billing.handlers.reconcile import lambda_handler

    return lambda_handler(schedule_event("billing-reconcile"), context)


def test_without_an_api_key_the_job_says_so_and_does_nothing(
    aws: Aws, context: LambdaContext
) -> None:
    summary = run_job(context)
    assert summary == {"configured": False, "message": "set the stripe-api-key secret to reconcile"}
    assert aws.receive("billing-events") == []


def test_undelivered_events_are_logged_and_queued_once(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    now = int(time.time())
    missed = [
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id=f"sub_{n}", customer=f"cus_{n}"),
            created=now - 60 * n,
        )
        for n in range(1, 4)
    ]
    delivered = stripe_event(
        "invoice.paid", {"id": "in_ok", "object": "invoice", "customer": "cus_1"}, created=now - 30
    )
    stripe_api.events = [*missed, delivered]
    stripe_api.undelivered = {e["id"] for e in missed}

    first = run_job(context)
    second = run_job(context)

    assert (first["checked"], first["new"]) == (3, 3)
    assert (second["checked"], second["new"]) == (3, 0)
    queued = aws.receive("billing-events")
    assert sorted(m["Attributes"]["MessageDeduplicationId"] for m in queued) == sorted(
        e["id"] for e in missed
    )
    assert stripe_api.requests[0][3] == "Bearer sk_test_reconcile"
    assert stripe_api.requests[0][2]["delivery_success"] == ["false"]


def test_the_second_sweep_starts_an_hour_before_the_first_ended(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    run_job(context)
    run_job(context)
    first_since, second_since = (int(r[2]["created[gte]"][0]) for r in stripe_api.requests[:2])
    assert second_since > first_since
    assert abs(second_since - (int(time.time()) - 3600)) < 60
