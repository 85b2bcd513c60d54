"""The billing events consumer: each event applied once, state newest-wins, failures retried."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import invoice, sign, sqs_event, stripe_event, subscription
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext
from tests.integration.test_stripe_webhook import post_webhook


def ingest(aws: Aws, context: LambdaContext, *events: dict[str, Any]) -> list[str]:
    """Post events through the webhook and return the queued bodies, in queue order."""
    for event in events:
        body = json.dumps(event)
        assert post_webhook(body, sign(body, WEBHOOK_SECRET), context)["statusCode"] == 200
    return [m["Body"] for m in aws.receive("billing-events")]


def process(aws: Aws, context: LambdaContext, bodies: list[str]) -> dict[str, Any]:
    from billing.handlers.process_events import lambda_handler

    event = sqs_event(
        bodies,
        aws.queue_arns["billing-events"],
        group_of=lambda e: e["data"]["object"].get("customer", "x"),
    )
    return lambda_handler(event, context)


def status_of(aws: Aws, event_id: str) -> str:
    return aws.table("billing").get_item(Key={"pk": f"EVENT#{event_id}", "sk": "EVENT"})["Item"][
        "status"
    ]


def stored(aws: Aws, kind: str, object_id: str) -> dict[str, Any] | None:
    return (
        aws.table("billing")
        .get_item(Key={"pk": f"{kind.upper()}#{object_id}", "sk": "STATE"})
        .get("Item")
    )


def test_an_acted_on_event_is_applied_and_marked_processed(
    aws: Aws, context: LambdaContext
) -> None:
    event = stripe_event("customer.subscription.created", subscription(quantity=2), created=100)

    result = process(aws, context, ingest(aws, context, event))

    assert result == {"batchItemFailures": []}
    assert status_of(aws, event["id"]) == "processed"
    sub = stored(aws, "subscription", "sub_1")
    assert sub is not None
    assert (sub["status"], sub["items"][0]["quantity"], sub["created"]) == ("active", 2, 100)


def test_an_event_type_we_do_not_act_on_is_ignored(aws: Aws, context: LambdaContext) -> None:
    event = stripe_event("product.created", {"id": "prod_1", "object": "product"})
    process(aws, context, ingest(aws, context, event))
    assert status_of(aws, event["id"]) == "ignored"


def test_a_redelivered_message_has_no_second_effect(aws: Aws, context: LambdaContext) -> None:
    first = stripe_event("customer.subscription.created", subscription(quantity=1), created=100)
    bodies = ingest(aws, context, first)
    process(aws, context, bodies)
    newer = stripe_event("customer.subscription.updated", subscription(quantity=5), created=200)
    process(aws, context, ingest(aws, context, newer))

    result = process(aws, context, bodies)  # the first event again, after the newer one

    assert result == {"batchItemFailures": []}
    sub = stored(aws, "subscription", "sub_1")
    assert sub is not None
    assert (sub["items"][0]["quantity"], sub["version_event"]) == (5, newer["id"])


def test_an_older_event_arriving_late_does_not_overwrite_newer_state(
    aws: Aws, context: LambdaContext
) -> None:
    older = stripe_event(
        "customer.subscription.created", subscription(status="incomplete"), created=100
    )
    newer = stripe_event(
        "customer.subscription.updated", subscription(status="active"), created=200
    )

    process(aws, context, ingest(aws, context, newer))
    process(aws, context, ingest(aws, context, older))

    sub = stored(aws, "subscription", "sub_1")
    assert sub is not None
    assert sub["status"] == "active"
    assert [status_of(aws, e["id"]) for e in (older, newer)] == ["processed", "processed"]


def test_invoices_keep_no_personal_data_and_find_their_basil_subscription(
    aws: Aws, context: LambdaContext
) -> None:
    process(aws, context, ingest(aws, context, stripe_event("invoice.paid", invoice())))
    inv = stored(aws, "invoice", "in_1")
    assert inv is not None
    assert inv["subscription"] == "sub_1"
    assert "jenny.rosen@example.com" not in json.dumps(inv, default=str)


def test_a_failing_record_is_reported_marked_failed_and_does_not_block_other_customers(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.dal.billing_state import BillingState

    bad = stripe_event(
        "customer.subscription.created", subscription(sub_id="sub_bad", customer="cus_bad")
    )
    good = stripe_event(
        "customer.subscription.created", subscription(sub_id="sub_ok", customer="cus_ok")
    )
    bodies = ingest(aws, context, bad, good)
    real_commit = BillingState.commit

    def commit_failing_for_bad(self: BillingState, plan: Any) -> bool:
        if plan.state is not None and plan.state.object_id == "sub_bad":
            raise RuntimeError("simulated throttling")
        return real_commit(self, plan)

    monkeypatch.setattr(BillingState, "commit", commit_failing_for_bad)
    event = sqs_event(
        bodies, aws.queue_arns["billing-events"], group_of=lambda e: e["data"]["object"]["customer"]
    )
    from billing.handlers.process_events import lambda_handler

    result = lambda_handler(event, context)

    failed_ids = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failed_ids == [r["messageId"] for r in event["Records"] if '"sub_bad"' in r["body"]]
    assert status_of(aws, good["id"]) == "processed"
    item = aws.table("billing").get_item(Key={"pk": f"EVENT#{bad['id']}", "sk": "EVENT"})["Item"]
    assert (item["status"], item["error"]) == ("failed", "RuntimeError: simulated throttling")


def test_aws_calls_per_subscription_event_applied_two_stale_two_ignored_one(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    newer = stripe_event(
        "customer.subscription.updated", subscription(sub_id="sub_n", customer="cus_n"), created=200
    )
    older = stripe_event(
        "customer.subscription.created", subscription(sub_id="sub_n", customer="cus_n"), created=100
    )
    other = stripe_event("product.created", {"id": "prod_n", "object": "product"})
    [newer_body], [older_body], [other_body] = (
        ingest(aws, context, e) for e in (newer, older, other)
    )

    with count_aws_calls() as applied:
        process(aws, context, [newer_body])
    with count_aws_calls() as stale:
        process(aws, context, [older_body])
    with count_aws_calls() as ignored:
        process(aws, context, [other_body])

    # One query of the customer's history, one transaction: the version (and the state when
    # newest), the MRR change records, the processed status and the audit entries together;
    # then the billing.mrr gauge set from the records just written (one UpdateItem per
    # currency). The first event of a tenant reads its audit chain's head; the environment
    # keeps the head it wrote, so the next event of the tenant reads nothing more.
    assert applied == {
        "dynamodb.Query": 1,
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.GetItem": 1,
        "dynamodb.UpdateItem": 1,
    }
    assert stale == {
        "dynamodb.Query": 1,
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.UpdateItem": 1,
    }
    assert ignored == {"dynamodb.UpdateItem": 1}


def test_aws_calls_per_paid_invoice_four_and_an_older_finalized_one_two(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    newer = stripe_event("invoice.paid", invoice(invoice_id="in_n", customer="cus_n"), created=200)
    older = stripe_event(
        "invoice.finalized",
        invoice(invoice_id="in_n", customer="cus_n", status="open"),
        created=100,
    )
    [newer_body], [older_body] = (ingest(aws, context, e) for e in (newer, older))

    with count_aws_calls() as applied:
        process(aws, context, [newer_body])
    with count_aws_calls() as stale:
        process(aws, context, [older_body])

    # The state (read, then one transaction), then dunning: the invoice's case is read and a
    # closed marker left, so a failure delivered late cannot open a case. One GetItem more:
    # the tenant's audit chain head, read once per execution environment.
    assert applied == {
        "dynamodb.GetItem": 3,
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.PutItem": 1,
    }
    # An older version only gets its status; finalizing is nothing to dunning.
    assert stale == {"dynamodb.GetItem": 1, "dynamodb.UpdateItem": 1}


def test_an_event_missing_from_the_log_is_an_error_not_a_silent_skip(
    aws: Aws, context: LambdaContext
) -> None:
    import pytest

    from billing.dal.billing_state import BillingState
    from billing.dal.event_log import EventLog
    from billing.logic.envelope import envelope_from
    from billing.logic.process import apply_event

    event = envelope_from(
        stripe_event("customer.subscription.created", subscription(sub_id="sub_x"))
    )
    table = aws.table("billing")

    with pytest.raises(LookupError, match="not in the event log"):
        apply_event(event, EventLog(table), BillingState(table))
    assert stored(aws, "subscription", "sub_x") is None
