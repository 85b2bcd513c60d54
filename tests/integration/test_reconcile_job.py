"""The billing-reconcile job against a fake Stripe API over HTTP: undelivered events are caught
up once, and the nightly comparison repairs stored subscriptions that differ from Stripe's."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from cognitionos.jobs import schedule_event
from tests.factories import sqs_event, stripe_event, subscription
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import STRIPE_TEST_KEY, Aws, LambdaContext


def run_job(context: LambdaContext, on_demand: bool = False) -> dict[str, Any]:
    from billing.handlers.reconcile import lambda_handler

    return lambda_handler(schedule_event("billing-reconcile", on_demand=on_demand), context)


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
    assert stripe_api.requests[0][3] == f"Bearer {STRIPE_TEST_KEY}"
    assert stripe_api.requests[0][2]["delivery_success"] == ["false"]


def test_the_second_sweep_starts_an_hour_before_the_first_ended(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    run_job(context)
    run_job(context)
    sweeps = [r for r in stripe_api.requests if r[1] == "/v1/events"]
    first_since, second_since = (int(r[2]["created[gte]"][0]) for r in sweeps)
    assert second_since > first_since
    assert abs(second_since - (int(time.time()) - 3600)) < 60


# --- nightly subscription comparison -------------------------------------------------------


def in_stripe(fake: FakeStripe, **fields: Any) -> dict[str, Any]:
    """A subscription as Stripe's API serves it (with the decimal-string price field)."""
    sub = subscription(**fields) | {"livemode": False, "created": 1_700_000_000}
    sub["items"]["data"][0]["price"]["unit_amount_decimal"] = str(fields.get("unit_amount", 2000))
    fake.subscriptions[sub["id"]] = sub
    return sub


def store(aws: Aws, sub: dict[str, Any], version: int) -> None:
    """The state item billing keeps for ``sub``, as the processor writes it."""
    from billing.logic.state import subscription_state
    from billing.logic.versions import version_key

    aws.table("billing").put_item(
        Item={
            "pk": f"SUBSCRIPTION#{sub['id']}",
            "sk": "STATE",
            "kind": "subscription",
            "id": sub["id"],
            "customer_id": sub["customer"],
            "version": version_key(version, 3, "0" * 16),
            "created": version,
            **subscription_state(sub),
        }
    )


def repair_records(aws: Aws) -> list[dict[str, Any]]:
    table = aws.table("billing")
    return list(table.query(KeyConditionExpression=Key("pk").eq("RECONCILE#repairs"))["Items"])


def test_a_subscription_stored_with_another_status_quantity_and_price_is_repaired_once(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    current = in_stripe(stripe_api, quantity=3, unit_amount=2500)
    store(aws, subscription(status="past_due", quantity=1, unit_amount=2000), version=1000)

    first = run_job(context)
    again = run_job(context, on_demand=True)  # before the processor applied the repair

    assert (first["compared"], first["repaired"]) == (1, 1)
    assert (again["repaired"], again["repair_already_logged"]) == (0, 1)
    [message] = aws.receive("billing-events")
    repair = json.loads(message["Body"])
    assert repair["id"].startswith("evt_repair_")
    assert (repair["type"], repair["data"]["object"]) == ("customer.subscription.updated", current)
    assert message["Attributes"]["MessageGroupId"] == "cus_1"
    logged = aws.table("billing").get_item(Key={"pk": f"EVENT#{repair['id']}", "sk": "EVENT"})
    assert logged["Item"]["status"] == "queued"
    [record] = repair_records(aws)
    assert record["sk"].endswith("#sub_1")
    assert {k: record[k] for k in ("subscription_id", "customer_id", "reason", "event_id")} == {
        "subscription_id": "sub_1",
        "customer_id": "cus_1",
        "reason": "different",
        "event_id": repair["id"],
    }
    assert record["fields"] == ["items.quantity", "items.unit_amount", "status"]


def test_once_the_processor_applies_a_repair_the_next_comparison_finds_nothing(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    from billing.handlers.process_events import lambda_handler as process

    in_stripe(stripe_api, quantity=3)
    store(aws, subscription(quantity=1), version=1000)
    run_job(context)
    bodies = [m["Body"] for m in aws.receive("billing-events")]
    process(sqs_event(bodies, aws.queue_arns["billing-events"]), context)

    after = run_job(context, on_demand=True)

    assert (after["compared"], after["repaired"], after["repair_already_logged"]) == (1, 0, 0)
    stored = aws.table("billing").get_item(Key={"pk": "SUBSCRIPTION#sub_1", "sk": "STATE"})
    assert stored["Item"]["items"][0]["quantity"] == 3


def test_a_subscription_never_stored_is_queued_and_recorded_as_missing(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    in_stripe(stripe_api, sub_id="sub_new", customer="cus_new", status="canceled")

    summary = run_job(context)

    assert (summary["compared"], summary["repaired"]) == (1, 1)
    [message] = aws.receive("billing-events")
    assert json.loads(message["Body"])["data"]["object"]["id"] == "sub_new"
    [record] = repair_records(aws)
    assert (record["reason"], record["fields"]) == ("missing", [])


def test_a_matching_subscription_is_left_alone_and_one_stripe_lacks_is_reported_not_deleted(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    store(aws, in_stripe(stripe_api, sub_id="sub_same"), version=1000)
    store(aws, subscription(sub_id="sub_gone"), version=1000)

    summary = run_job(context)

    assert {k: summary[k] for k in ("compared", "repaired", "not_in_stripe")} == {
        "compared": 1,
        "repaired": 0,
        "not_in_stripe": 1,
    }
    assert aws.receive("billing-events") == []
    assert repair_records(aws) == []
    gone = aws.table("billing").get_item(Key={"pk": "SUBSCRIPTION#sub_gone", "sk": "STATE"})
    assert "Item" in gone


def test_a_subscription_stored_from_an_event_newer_than_the_run_is_not_overwritten(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    in_stripe(stripe_api, quantity=3)
    store(aws, subscription(quantity=4), version=int(time.time()) + 60)

    summary = run_job(context)

    assert (summary["repaired"], summary["newer_locally"]) == (0, 1)
    assert aws.receive("billing-events") == []


def test_the_comparison_runs_once_a_day_or_whenever_asked_for(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    def listings() -> int:
        return sum(1 for r in stripe_api.requests if r[1] == "/v1/subscriptions")

    first = run_job(context)
    hourly = run_job(context)
    asked = run_job(context, on_demand=True)
    aws.table("billing").put_item(
        Item={
            "pk": "RECONCILE#subscriptions",
            "sk": "CURSOR",
            "swept_until": int(time.time()) - 24 * 3600,
        }
    )
    a_day_later = run_job(context)

    assert "compared" in first and "compared" not in hourly
    assert "compared" in asked and "compared" in a_day_later
    assert hourly["next_comparison_at"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert listings() == 3
    assert stripe_api.requests[1][2]["status"] == ["all"]


def test_the_admin_route_runs_the_comparison_even_when_it_is_not_due(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.handlers.reconcile import lambda_handler
    from platform_api.dal import jobs

    run_job(context)  # the nightly comparison has just run

    class LambdaInProcess:
        def invoke(self, **call: Any) -> dict[str, Any]:
            summary = lambda_handler(json.loads(call["Payload"]), context)
            return {"Payload": io.BytesIO(json.dumps(summary).encode())}

    monkeypatch.setattr(jobs, "client", lambda *args, **kwargs: LambdaInProcess())
    summary = jobs.JobRunner({"billing-reconcile": "fn"}).run("billing-reconcile")

    assert "checked" in summary and "compared" in summary


# --- Stripe read in the webhook endpoint's API version --------------------------------------


def log_event_in(aws: Aws, api_version: str, created: int) -> None:
    from billing.dal.event_log import EventLog
    from billing.logic.envelope import envelope_from

    event = stripe_event("customer.subscription.updated", subscription(), created=created)
    EventLog(aws.table("billing")).record_once(
        envelope_from({**event, "api_version": api_version}), received_at=created
    )


@pytest.mark.parametrize("api_version", ["2025-03-31.basil", "2026-10-28.endive"])
def test_stripe_is_read_in_the_api_version_the_webhook_events_carry(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe, api_version: str
) -> None:
    now = int(time.time())
    log_event_in(aws, "2024-06-20", now - 7200)  # the endpoint was upgraded since
    log_event_in(aws, api_version, now - 60)
    in_stripe(stripe_api, sub_id="sub_new", customer="cus_new")

    summary = run_job(context)

    assert set(stripe_api.stripe_versions) == {api_version}
    [message] = aws.receive("billing-events")
    assert json.loads(message["Body"])["api_version"] == api_version  # the repair says so
    assert summary["repaired"] == 1


def test_before_any_event_stripe_is_read_in_the_sdks_own_version(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    import stripe

    run_job(context)

    assert set(stripe_api.stripe_versions) == {stripe.api_version}


def test_a_subscription_served_in_an_older_versions_shape_is_not_repaired(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    """Stored from a basil webhook (billing period on each item); Stripe's list in a
    2024 shape (the period on the subscription): the same subscription, no repair."""
    served = in_stripe(stripe_api, sub_id="sub_shape")
    store(aws, served, version=1000)
    item = served["items"]["data"][0]
    served["current_period_start"] = item.pop("current_period_start")
    served["current_period_end"] = item.pop("current_period_end")

    summary = run_job(context)

    assert (summary["compared"], summary["repaired"]) == (1, 0)
    assert aws.receive("billing-events") == []
