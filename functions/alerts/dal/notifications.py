"""The ``alert-notifications`` queue: one message per (alert, channel, event), and digests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from cognitionos.aws import client

BATCH = 10  # SendMessageBatch's most


def notification_body(alert_id: str, channel_id: str, event: str) -> str:
    return json.dumps(
        {"kind": "notify", "alert_id": alert_id, "channel_id": channel_id, "event": event},
        separators=(",", ":"),
    )


def digest_body(channel_id: str) -> str:
    return json.dumps({"kind": "digest", "channel_id": channel_id}, separators=(",", ":"))


class NotificationQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def send(self, alert_id: str, channel_ids: Iterable[str], event: str) -> int:
        """Queue the notifications; every one or an error (a failed entry raises)."""
        bodies = [notification_body(alert_id, c, event) for c in channel_ids]
        for start in range(0, len(bodies), BATCH):
            chunk = bodies[start : start + BATCH]
            response: dict[str, Any] = client("sqs").send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)],
            )
            if response.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in response["Failed"]})
                raise RuntimeError(f"queuing alert notifications failed: {codes}")
        return len(bodies)

    def send_digest(self, channel_id: str, delay_s: int) -> None:
        client("sqs").send_message(
            QueueUrl=self._url, MessageBody=digest_body(channel_id), DelaySeconds=delay_s
        )

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """The message comes back after ``seconds``: a retry's backoff, without sleeping."""
        client("sqs").change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
