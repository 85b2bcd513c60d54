"""Where the last reconcile sweep stopped, kept in the billing table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SWEEP_KEY = {"pk": "RECONCILE#undelivered-events", "sk": "CURSOR"}


class SweepCursor:
    def __init__(self, table: Table) -> None:
        self._table = table

    def last_swept(self) -> int | None:
        item = self._table.get_item(Key=SWEEP_KEY, ConsistentRead=True).get("Item")
        return int(item["swept_until"]) if item else None  # type: ignore[arg-type]

    def advance(self, swept_until: int) -> None:
        self._table.update_item(
            Key=SWEEP_KEY,
            UpdateExpression="SET swept_until = :t",
            ConditionExpression="attribute_not_exists(swept_until) OR swept_until <= :t",
            ExpressionAttributeValues={":t": swept_until},
        )
