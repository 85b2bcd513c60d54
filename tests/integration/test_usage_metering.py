"""Usage metering end to end in process: record_usage under moto, the usage-reports consumer,
and a fake Stripe API on loopback that counts meter events as Stripe would."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import STRIPE_TEST_KEY, Aws, LambdaContext

METER = "agent_tokens"
QUEUE = "usage-reports"


def record(tenant: str, identifier: str, value: int = 10, **kwargs: Any) -> bool:
    from cognitionos.usage import record_usage

    return record_usage(tenant, METER, value, identifier, **kwargs)


def as_sqs_event(
    aws: Aws, messages: list[dict[str, Any]], receive_count: int = 1
) -> dict[str, Any]:
    """The batch Lambda's event source mapping delivers for these standard-queue messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": m["Attributes"]["SentTimestamp"],
                    "SenderId": "AIDATEST",
                    "ApproximateFirstReceiveTimestamp": m["Attributes"]["SentTimestamp"],
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": aws.queue_arns[QUEUE],
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver(
    aws: Aws, context: LambdaContext, messages: list[dict[str, Any]], receive_count: int = 1
) -> dict[str, Any]:
    from billing.handlers.report_usage import lambda_handler

    return dict(lambda_handler(as_sqs_event(aws, messages, receive_count), context))


def statuses(aws: Aws) -> list[str]:
    return sorted(item["status"] for item in aws.table("usage").scan()["Items"])


def test_n_usage_records_give_exactly_n_meter_events(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    happened = int(time.time()) - 600
    for n in range(5):
        assert record(f"cus_T{n}", f"run_1:step_{n}", value=n + 1, timestamp=happened)

    result = deliver(aws, context, aws.receive(QUEUE))

    assert result == {"batchItemFailures": []}
    events = sorted(stripe_api.meter_events, key=lambda e: e["payload"]["stripe_customer_id"])
    assert [(e["payload"]["stripe_customer_id"], e["payload"]["value"]) for e in events] == [
        (f"cus_T{n}", str(n + 1)) for n in range(5)
    ]
    assert {e["event_name"] for e in events} == {METER}
    assert {e["timestamp"] for e in events} == {happened}
    assert statuses(aws) == ["reported"] * 5
    assert {r[3] for r in stripe_api.requests} == {f"Bearer {STRIPE_TEST_KEY}"}


def test_every_message_delivered_twice_still_gives_n_meter_events(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    for n in range(4):
        record("cus_T1", f"call_{n}")
    messages = aws.receive(QUEUE)

    twice_in_one_batch = deliver(aws, context, messages + messages)
    posts_after_first_batch = len(stripe_api.requests)
    again_in_a_second_batch = deliver(aws, context, messages, receive_count=2)

    assert twice_in_one_batch == again_in_a_second_batch == {"batchItemFailures": []}
    assert len(stripe_api.meter_events) == 4
    assert posts_after_first_batch == 4  # a reported record is not even sent again
    assert len(stripe_api.requests) == 4


def test_a_record_stripe_already_counted_but_not_marked_is_not_counted_again(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    record("cus_T1", "call_1")
    messages = aws.receive(QUEUE)
    deliver(aws, context, messages)
    # As if the mark had failed after Stripe took the event: the record is pending again.
    table = aws.table("usage")
    (item,) = table.scan()["Items"]
    table.update_item(
        Key={"usage_id": item["usage_id"]},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": "pending"},
    )

    result = deliver(aws, context, messages, receive_count=2)

    assert result == {"batchItemFailures": []}
    assert len(stripe_api.meter_events) == 1
    assert stripe_api.requests[-1][2]["identifier"] == [item["usage_id"]]
    assert statuses(aws) == ["reported"]


def test_recording_the_same_usage_again_stores_and_counts_it_once(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    assert record("cus_T1", "run_9", value=7) is True
    assert record("cus_T1", "run_9", value=7) is False  # queued again: not yet reported
    messages = aws.receive(QUEUE)
    assert len(messages) == 2

    deliver(aws, context, messages)

    assert record("cus_T1", "run_9", value=7) is False
    assert aws.receive(QUEUE) == []  # reported: nothing to send again
    assert len(stripe_api.meter_events) == 1
    assert len(aws.table("usage").scan()["Items"]) == 1


def test_the_same_usage_with_another_value_is_a_conflict_and_changes_nothing(
    aws: Aws, stripe_api: FakeStripe
) -> None:
    from cognitionos.usage import UsageConflict

    record("cus_T1", "run_9", value=7)
    aws.receive(QUEUE)
    with pytest.raises(UsageConflict, match="recorded with value 7, not 8"):
        record("cus_T1", "run_9", value=8)
    assert aws.receive(QUEUE) == []
    assert [item["value"] for item in aws.table("usage").scan()["Items"]] == [7]


def test_bad_usage_is_refused_and_nothing_is_stored_or_queued(
    aws: Aws, stripe_api: FakeStripe
) -> None:
    from cognitionos.usage import InvalidUsage

    with pytest.raises(InvalidUsage, match="tenant must be a Stripe customer id"):
        record("someone@example.com", "run_1")
    with pytest.raises(InvalidUsage, match="value must be a positive integer"):
        record("cus_T1", "run_1", value=0)
    assert aws.table("usage").scan()["Items"] == []
    assert aws.receive(QUEUE) == []


def test_a_stripe_500_fails_only_that_record_and_its_redelivery_succeeds(
    aws: Aws, context: LambdaContext, stripe_api: FakeStripe
) -> None:
    for n in range(3):
        record("cus_T1", f"call_{n}")
    messages = aws.receive(QUEUE)
    stripe_api.fail_next(1)  # the first POST; the SDK's retries replay its saved 500

    first = deliver(aws, context, messages)

    assert first == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert len(stripe_api.meter_events) == 2
    assert statuses(aws) == ["pending", "reported", "reported"]

    retried = deliver(aws, context, messages[:1], receive_count=2)

    assert retried == {"batchItemFailures": []}
    assert len(stripe_api.meter_events) == 3
    assert statuses(aws) == ["reported"] * 3


def test_without_an_api_key_nothing_is_reported_and_the_error_names_the_secret(
    aws: Aws, context: LambdaContext
) -> None:
    record("cus_T1", "call_1")
    record("cus_T1", "call_2")

    with pytest.raises(BatchProcessingError, match="stripe-api-key"):
        deliver(aws, context, aws.receive(QUEUE))

    assert statuses(aws) == ["pending", "pending"]
