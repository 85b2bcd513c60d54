"""Large Stripe events under moto: parked in S3 behind a claim check before the 200, applied
from their body, which is then deleted; a body over the cap is a 413 that stores nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.factories import http_event, padded, sign, sqs_event, stripe_event, subscription
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext
from tests.integration.test_stripe_webhook import logged_events, post_webhook

MIB = 1024 * 1024
CAP = 4 * MIB


def bucket(aws: Aws) -> str:
    return aws.env["EVENT_BODIES_BUCKET"]


def stored_keys(aws: Aws) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket(aws))
    return [o["Key"] for o in listed.get("Contents", [])]


def large_subscription_event(size: int, quantity: int = 3, customer: str = "cus_big") -> Any:
    obj = subscription(sub_id=f"sub_{customer}", customer=customer, quantity=quantity)
    return padded(stripe_event("customer.subscription.created", obj), size)


def post_signed(body: str, context: LambdaContext) -> dict[str, Any]:
    return post_webhook(body, sign(body, WEBHOOK_SECRET), context)


def process(aws: Aws, context: LambdaContext, bodies: list[str]) -> dict[str, Any]:
    from billing.handlers.process_events import lambda_handler

    event = sqs_event(bodies, aws.queue_arns["billing-events"], group_of=lambda _: "cus_big")
    return lambda_handler(event, context)


def status_of(aws: Aws, event_id: str) -> dict[str, Any]:
    item = aws.table("billing").get_item(Key={"pk": f"EVENT#{event_id}", "sk": "EVENT"})["Item"]
    return dict(item)


def quantity_of(aws: Aws, sub_id: str) -> int | None:
    item = aws.table("billing").get_item(Key={"pk": f"SUBSCRIPTION#{sub_id}", "sk": "STATE"})
    return int(item["Item"]["items"][0]["quantity"]) if "Item" in item else None


def test_a_large_event_is_parked_in_s3_and_a_claim_check_is_queued_before_the_200(
    aws: Aws, context: LambdaContext
) -> None:
    event = large_subscription_event(int(1.5 * MIB))
    body = json.dumps(event)

    response = post_signed(body, context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"received": True, "duplicate": False}
    key = f"stripe-events/{event['id']}.json"
    assert stored_keys(aws) == [key]
    stored = boto3.client("s3").get_object(Bucket=bucket(aws), Key=key)
    assert stored["Body"].read() == body.encode()
    assert stored["ServerSideEncryption"] == "aws:kms"  # the bucket's default, not the caller's
    [message] = aws.receive("billing-events")
    assert json.loads(message["Body"]) == {
        "object": "cognitionos.claim_check",
        "event_id": event["id"],
        "key": key,
        "bytes": len(body.encode()),
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
    }
    assert message["Attributes"]["MessageGroupId"] == "cus_big"
    assert message["Attributes"]["MessageDeduplicationId"] == event["id"]
    assert [e["status"] for e in logged_events(aws)] == ["queued"]


def test_a_large_new_event_costs_one_put_more_than_a_small_one(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    warmup = json.dumps(stripe_event("product.created", {"id": "prod_w", "object": "product"}))
    post_signed(warmup, context)  # fetches and caches the secret
    body = json.dumps(large_subscription_event(300 * 1024))

    with count_aws_calls() as calls:
        post_signed(body, context)

    assert calls == {"dynamodb.PutItem": 1, "s3.PutObject": 1, "sqs.SendMessage": 1}


def test_a_claim_check_is_applied_like_the_event_and_its_body_then_deleted(
    aws: Aws, context: LambdaContext
) -> None:
    event = large_subscription_event(int(1.5 * MIB), quantity=7)
    post_signed(json.dumps(event), context)
    [message] = aws.receive("billing-events")

    result = process(aws, context, [message["Body"]])

    assert result == {"batchItemFailures": []}
    assert status_of(aws, event["id"])["status"] == "processed"
    assert quantity_of(aws, "sub_cus_big") == 7
    assert stored_keys(aws) == []  # personal data: gone once applied


def test_a_claim_check_redelivered_after_its_body_was_deleted_is_acknowledged(
    aws: Aws, context: LambdaContext
) -> None:
    event = large_subscription_event(int(1.5 * MIB))
    post_signed(json.dumps(event), context)
    [message] = aws.receive("billing-events")
    process(aws, context, [message["Body"]])

    again = process(aws, context, [message["Body"]])

    assert again == {"batchItemFailures": []}
    assert status_of(aws, event["id"])["status"] == "processed"


def test_a_claim_check_whose_body_is_missing_for_an_unapplied_event_fails_and_says_why(
    aws: Aws, context: LambdaContext
) -> None:
    event = large_subscription_event(int(1.5 * MIB))
    post_signed(json.dumps(event), context)
    [message] = aws.receive("billing-events")
    boto3.client("s3").delete_object(Bucket=bucket(aws), Key=f"stripe-events/{event['id']}.json")

    with pytest.raises(BatchProcessingError):  # the one record failed: back to the queue
        process(aws, context, [message["Body"]])

    logged = status_of(aws, event["id"])
    assert logged["status"] == "failed"
    assert logged["error"].startswith("EventBodyMissing: the body of " + event["id"])
    assert "and the event is queued" in logged["error"]
    assert quantity_of(aws, "sub_cus_big") is None


def test_a_claim_check_whose_body_was_replaced_fails_and_keeps_the_body(
    aws: Aws, context: LambdaContext
) -> None:
    event = large_subscription_event(int(1.5 * MIB), quantity=2)
    body = json.dumps(event)
    post_signed(body, context)
    [message] = aws.receive("billing-events")
    key = f"stripe-events/{event['id']}.json"
    tampered = body.replace('"quantity": 2', '"quantity": 9')
    assert len(tampered) == len(body)
    boto3.client("s3").put_object(Bucket=bucket(aws), Key=key, Body=tampered.encode())

    with pytest.raises(BatchProcessingError):
        process(aws, context, [message["Body"]])

    logged = status_of(aws, event["id"])
    assert logged["status"] == "failed"
    assert "its SHA-256 differs" in logged["error"]
    assert quantity_of(aws, "sub_cus_big") is None
    assert stored_keys(aws) == [key]


def test_a_failed_send_after_the_put_leaves_the_event_queued_and_the_retry_sends_it(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.dal import event_queue

    body = json.dumps(large_subscription_event(int(1.5 * MIB)))
    real_send = event_queue.send_message

    def failing_send(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(event_queue, "send_message", failing_send)
    with pytest.raises(ConnectionError):
        post_signed(body, context)
    assert [e["status"] for e in logged_events(aws)] == ["queued"]
    assert len(stored_keys(aws)) == 1

    monkeypatch.setattr(event_queue, "send_message", real_send)
    retry = post_signed(body, context)

    assert json.loads(retry["body"]) == {"received": True, "duplicate": True}
    [message] = aws.receive("billing-events")
    assert json.loads(message["Body"])["object"] == "cognitionos.claim_check"
    assert process(aws, context, [message["Body"]]) == {"batchItemFailures": []}
    assert stored_keys(aws) == []


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_body_over_the_cap_is_a_413_before_its_signature_and_leaves_no_trace(
    aws: Aws, context: LambdaContext, capfd: pytest.CaptureFixture[str], signed: bool
) -> None:
    event = padded(stripe_event("customer.created", {"id": "cus_huge", "object": "customer"}), CAP)
    body = json.dumps(event) + " "  # one byte over
    marker = event["id"]

    response = post_webhook(body, sign(body, WEBHOOK_SECRET) if signed else None, context)

    assert response["statusCode"] == 413
    assert json.loads(response["body"]) == {
        "message": (
            f"the request body is {CAP + 1} bytes; a Stripe webhook may be at most "
            f"{CAP} bytes (4 MiB)"
        )
    }
    assert logged_events(aws) == []
    assert stored_keys(aws) == []
    assert aws.receive("billing-events") == []
    captured = capfd.readouterr()
    assert marker not in captured.out + captured.err


def test_a_body_exactly_at_the_cap_is_accepted(aws: Aws, context: LambdaContext) -> None:
    body = json.dumps(large_subscription_event(CAP))
    assert post_signed(body, context)["statusCode"] == 200
    assert len(stored_keys(aws)) == 1


def test_the_cap_counts_the_bytes_sent_not_their_base64_encoding(
    aws: Aws, context: LambdaContext
) -> None:
    from billing.handlers.ingest_webhook import lambda_handler

    def post_binary(body: bytes) -> dict[str, Any]:
        headers = {
            "content-type": "application/octet-stream",  # API Gateway passes it base64 encoded
            "stripe-signature": sign(body, WEBHOOK_SECRET),
        }
        event = http_event("POST", "/webhooks/stripe", body=body, headers=headers)
        assert event["isBase64Encoded"] is True
        assert len(base64.b64decode(event["body"])) == len(body)
        return lambda_handler(event, context)

    under = json.dumps(large_subscription_event(CAP - 1, customer="cus_b64")).encode()
    over = json.dumps(large_subscription_event(CAP + 1, customer="cus_b65")).encode()

    assert len(base64.b64encode(under)) > CAP  # encoded, it is over; sent, it is not
    assert post_binary(under)["statusCode"] == 200
    assert post_binary(over)["statusCode"] == 413
    assert [e["customer_id"] for e in logged_events(aws)] == ["cus_b64"]


def test_the_reconcile_job_parks_a_large_undelivered_event_as_the_webhook_does(
    aws: Aws, context: LambdaContext, stripe_api: Any
) -> None:
    from billing.handlers.reconcile import lambda_handler
    from cognitionos.jobs import schedule_event

    event = large_subscription_event(int(1.5 * MIB), customer="cus_missed")
    stripe_api.events = [event]
    stripe_api.undelivered = {event["id"]}

    summary = lambda_handler(schedule_event("billing-reconcile"), context)

    assert (summary["checked"], summary["new"]) == (1, 1)
    [message] = aws.receive("billing-events")
    claim = json.loads(message["Body"])
    assert (claim["object"], claim["event_id"]) == ("cognitionos.claim_check", event["id"])
    assert stored_keys(aws) == [claim["key"]]
    assert process(aws, context, [message["Body"]]) == {"batchItemFailures": []}
    assert quantity_of(aws, "sub_cus_missed") == 3
    assert stored_keys(aws) == []


def test_a_claim_check_costs_an_s3_get_and_delete_more_and_its_redelivery_two_calls(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    post_signed(json.dumps(large_subscription_event(300 * 1024)), context)
    [message] = aws.receive("billing-events")

    with count_aws_calls() as applied:
        process(aws, context, [message["Body"]])
    with count_aws_calls() as redelivered:
        process(aws, context, [message["Body"]])

    assert applied == {
        "s3.GetObject": 1,
        "dynamodb.Query": 1,
        "dynamodb.GetItem": 1,  # the tenant's audit chain head, once per environment
        "dynamodb.TransactWriteItems": 1,  # with the audit entries
        "dynamodb.UpdateItem": 1,  # the billing.mrr gauge, from the records just written
        "s3.DeleteObject": 1,
    }
    assert redelivered == {"s3.GetObject": 1, "dynamodb.GetItem": 1}
