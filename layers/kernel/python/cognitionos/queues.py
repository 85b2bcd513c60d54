"""SQS helpers: sending to FIFO and standard queues with the ids that make redelivery safe."""

from __future__ import annotations

from typing import Any

from cognitionos.aws import client


def send_message(
    queue_url: str,
    body: str,
    *,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    attributes: dict[str, str] | None = None,
    delay_s: int = 0,
) -> str:
    """Send one message; FIFO queues need ``group_id`` and take ``deduplication_id``; a
    standard queue's message may be held back ``delay_s`` (at most 900) before delivery."""
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
    if delay_s:
        kwargs["DelaySeconds"] = delay_s
    if group_id is not None:
        kwargs["MessageGroupId"] = group_id
    if deduplication_id is not None:
        kwargs["MessageDeduplicationId"] = deduplication_id
    if attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        }
    response = client("sqs").send_message(**kwargs)
    return str(response["MessageId"])
