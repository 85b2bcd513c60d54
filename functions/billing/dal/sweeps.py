"""Where the reconcile job's parts last ran, kept in the billing table: one cursor each."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SWEEP_KEY = {"pk": "RECONCILE#undelivered-events", "sk": "CURSOR"}
COMPARISON_KEY = {"pk": "RECONCILE#subscriptions", "sk": "CURSOR"}


class SweepCursor:
    def __init__(self, table: Table, key: dict[str, str] = SWEEP_KEY) -> None:
        self._table = table
        self._key = key

    def last_swept(self) -> int | None:
        item = self._table.get_item(Key=self._key, ConsistentRead=True).get("Item")
        return int(item["swept_until"]) if item else None  # type: ignore[arg-type]

    def advance(self, swept_until: int) -> None:
        self._table.update_item(
            Key=self._key,
            UpdateExpression="SET swept_until = :t",
            ConditionExpression="attribute_not_exists(swept_until) OR swept_until <= :t",
            ExpressionAttributeValues={":t": swept_until},
        )
