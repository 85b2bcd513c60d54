"""A channel's pending digest: the notifications its rate limit held back, until one digest
names them all.

Item ``CHANNEL#<id>`` / ``DIGEST``: ``held`` (a string set, one ``DigestLine`` each) and
``scheduled`` (a digest message is queued). Adding a line and removing the lines a digest
named are each one atomic update, so a line added while a digest goes out stays for the next
one; nothing is lost between them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from alerts.logic.payloads import DigestLine
from cognitionos.dynamodb import is_condition_failure

PENDING_SK = "DIGEST"


class PendingDigests:
    def __init__(self, table: Any) -> None:
        self._table = table

    @staticmethod
    def _key(channel_id: str) -> dict[str, str]:
        return {"pk": f"CHANNEL#{channel_id}", "sk": PENDING_SK}

    def add(self, channel_id: str, line: DigestLine) -> bool:
        """Hold ``line`` back; True if no digest message is queued yet (the caller queues
        one, then calls ``mark_scheduled``)."""
        response = self._table.update_item(
            Key=self._key(channel_id),
            UpdateExpression="ADD held :line",
            ExpressionAttributeValues={":line": {line.encode()}},
            ReturnValues="ALL_NEW",
        )
        return not response["Attributes"].get("scheduled", False)

    def mark_scheduled(self, channel_id: str) -> None:
        self._table.update_item(
            Key=self._key(channel_id),
            UpdateExpression="SET scheduled = :yes",
            ExpressionAttributeValues={":yes": True},
        )

    def pending(self, channel_id: str) -> list[DigestLine]:
        item = self._table.get_item(Key=self._key(channel_id), ConsistentRead=True).get("Item")
        lines = sorted(item.get("held", set())) if item else []
        return [DigestLine.decode(line) for line in lines]

    def remove(self, channel_id: str, lines: list[DigestLine]) -> bool:
        """Drop the lines a digest named; True if others are waiting (the caller queues a
        digest for them). With none left, ``scheduled`` is cleared, on the condition that no
        line arrived in between: its adder saw ``scheduled`` and queued nothing."""
        response = self._table.update_item(
            Key=self._key(channel_id),
            UpdateExpression="DELETE held :sent",
            ExpressionAttributeValues={":sent": {line.encode() for line in lines}},
            ReturnValues="ALL_NEW",
        )
        if response["Attributes"].get("held"):
            return True
        try:
            self._table.update_item(
                Key=self._key(channel_id),
                UpdateExpression="REMOVE scheduled",
                ConditionExpression="attribute_not_exists(held)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return True
        return False
