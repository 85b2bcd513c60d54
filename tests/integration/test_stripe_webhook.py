"""POST /webhooks/stripe in process under moto: verify, log once, queue, answer."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.factories import http_event, sign, stripe_event, subscription
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext


def post_webhook(
    body: bytes | str, signature: str | None, context: LambdaContext
) -> dict[str, Any]:
    from billing.handlers.ingest_webhook import lambda_handler

    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return lambda_handler(
        http_event("POST", "/webhooks/stripe", body=body, headers=headers), context
    )


def logged_events(aws: Aws) -> list[dict[str, Any]]:
    items = aws.table("billing").scan()["Items"]
    return [i for i in items if i["pk"].startswith("EVENT#")]


def test_a_signed_event_is_logged_once_and_queued_grouped_by_customer(
    aws: Aws, context: LambdaContext
) -> None:
    event = stripe_event("customer.subscription.created", subscription(customer="cus_A"))
    body = json.dumps(event, indent=2)  # odd whitespace: the signature covers the raw bytes

    response = post_webhook(body, sign(body, WEBHOOK_SECRET), context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"received": True, "duplicate": False}
    [logged] = logged_events(aws)
    assert (logged["id"], logged["status"], logged["customer_id"]) == (
        event["id"],
        "queued",
        "cus_A",
    )
    [message] = aws.receive("billing-events")
    assert message["Body"] == body
    assert message["Attributes"]["MessageGroupId"] == "cus_A"
    assert message["Attributes"]["MessageDeduplicationId"] == event["id"]


def test_a_redelivery_answers_duplicate_and_logs_nothing_new(
    aws: Aws, context: LambdaContext
) -> None:
    body = json.dumps(
        stripe_event("invoice.paid", {"id": "in_1", "object": "invoice", "customer": "cus_B"})
    )

    first = post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    again = post_webhook(body, sign(body, WEBHOOK_SECRET), context)

    assert [json.loads(r["body"])["duplicate"] for r in (first, again)] == [False, True]
    assert len(logged_events(aws)) == 1


def test_an_event_without_a_customer_is_grouped_by_its_object(
    aws: Aws, context: LambdaContext
) -> None:
    body = json.dumps(stripe_event("product.created", {"id": "prod_9", "object": "product"}))
    post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    [message] = aws.receive("billing-events")
    assert message["Attributes"]["MessageGroupId"] == "prod_9"


def test_a_duplicate_of_a_processed_event_is_not_queued_again(
    aws: Aws, context: LambdaContext
) -> None:
    event = stripe_event("invoice.paid", {"id": "in_2", "object": "invoice", "customer": "cus_C"})
    body = json.dumps(event)
    post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    aws.receive("billing-events")
    aws.table("billing").update_item(
        Key={"pk": f"EVENT#{event['id']}", "sk": "EVENT"},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": "processed"},
    )

    again = post_webhook(body, sign(body, WEBHOOK_SECRET), context)

    assert json.loads(again["body"]) == {"received": True, "duplicate": True}
    assert aws.receive("billing-events") == []


NOT_AN_EVENT = '{"id": "evt_1", "object": "event", "type": "x", "data": {"object": {"id": "o"}}}'
BAD_REQUESTS = {  # name: (body, how to sign it at test time, the reason the answer gives)
    "no signature": ("{}", lambda body: None, "missing Stripe-Signature"),
    "wrong digest": ("{}", lambda body: "t=1,v1=deadbeef", "does not match"),
    "malformed header": ("{}", lambda body: "garbage", "malformed"),
    "stale timestamp": (
        "{}",
        lambda body: sign(body, WEBHOOK_SECRET, int(time.time()) - 301),
        "more than 300 s old",
    ),
    "other secret": ("{}", lambda body: sign(body, "whsec_someone_else"), "does not match"),
    "not json": ("not json", lambda body: sign(body, WEBHOOK_SECRET), "not valid JSON"),
    "json array": ("[1, 2]", lambda body: sign(body, WEBHOOK_SECRET), "expected a JSON object"),
    "no data.object": (
        '{"id": "evt_1"}',
        lambda body: sign(body, WEBHOOK_SECRET),
        "data.object.id is missing",
    ),
    "no created": (NOT_AN_EVENT, lambda body: sign(body, WEBHOOK_SECRET), "invalid created"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_a_bad_request_is_refused_with_the_reason_and_stores_nothing(
    aws: Aws, context: LambdaContext, case: str
) -> None:
    body, signer, problem = BAD_REQUESTS[case]
    response = post_webhook(body, signer(body), context)

    assert response["statusCode"] == 400
    assert problem in json.loads(response["body"])["message"]
    assert logged_events(aws) == []
    assert aws.receive("billing-events") == []


def test_a_binary_body_that_is_not_utf8_is_a_400_not_a_500(
    aws: Aws, context: LambdaContext
) -> None:
    from billing.handlers.ingest_webhook import lambda_handler

    body = b"\xff\xfe\x00 binary"
    headers = {
        "content-type": "application/octet-stream",
        "stripe-signature": sign(body, WEBHOOK_SECRET),
    }
    response = lambda_handler(
        http_event("POST", "/webhooks/stripe", body=body, headers=headers), context
    )

    assert (response["statusCode"], json.loads(response["body"])["message"]) == (
        400,
        "the request body is not UTF-8 text",
    )
    assert logged_events(aws) == []


def test_a_tampered_body_fails_even_with_a_valid_signature_for_the_original(
    aws: Aws, context: LambdaContext
) -> None:
    body = json.dumps(
        stripe_event("invoice.paid", {"id": "in_3", "object": "invoice", "customer": "cus_D"})
    )
    signature = sign(body, WEBHOOK_SECRET)
    response = post_webhook(body.replace("in_3", "in_4"), signature, context)
    assert response["statusCode"] == 400
    assert logged_events(aws) == []


def test_a_failed_send_leaves_the_event_queued_and_the_retry_sends_it(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.dal import event_queue

    body = json.dumps(
        stripe_event("invoice.paid", {"id": "in_5", "object": "invoice", "customer": "cus_E"})
    )
    real_send = event_queue.send_message

    def failing_send(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(event_queue, "send_message", failing_send)
    with pytest.raises(ConnectionError):
        post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    assert [e["status"] for e in logged_events(aws)] == ["queued"]
    assert aws.receive("billing-events") == []

    monkeypatch.setattr(event_queue, "send_message", real_send)
    retry = post_webhook(body, sign(body, WEBHOOK_SECRET), context)

    assert json.loads(retry["body"]) == {"received": True, "duplicate": True}
    assert len(aws.receive("billing-events")) == 1


def test_a_new_event_costs_two_aws_calls_and_a_processed_duplicate_one(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    warmup = json.dumps(
        stripe_event("invoice.paid", {"id": "in_w", "object": "invoice", "customer": "cus_W"})
    )
    post_webhook(warmup, sign(warmup, WEBHOOK_SECRET), context)  # fetches and caches the secret
    event = stripe_event("invoice.paid", {"id": "in_c", "object": "invoice", "customer": "cus_C"})
    body = json.dumps(event)

    with count_aws_calls() as new_calls:
        post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    aws.table("billing").update_item(
        Key={"pk": f"EVENT#{event['id']}", "sk": "EVENT"},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": "processed"},
    )
    with count_aws_calls() as duplicate_calls:
        post_webhook(body, sign(body, WEBHOOK_SECRET), context)

    assert new_calls == {"dynamodb.PutItem": 1, "sqs.SendMessage": 1}
    assert duplicate_calls == {"dynamodb.PutItem": 1}
