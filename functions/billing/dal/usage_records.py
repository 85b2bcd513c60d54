"""Usage records in the usage table, as ``cognitionos.usage`` writes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from cognitionos.dynamodb import is_condition_failure
from cognitionos.usage import UsageRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class UsageRecordTable:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, usage_id: str) -> UsageRecord | None:
        # Strongly consistent: the record was written just before its message was sent.
        item = self._table.get_item(Key={"usage_id": usage_id}, ConsistentRead=True).get("Item")
        return UsageRecord.from_item(dict(item)) if item else None

    def mark_reported(self, usage_id: str, reported_at: int) -> bool:
        """Mark the record reported; False if it already was (a concurrent delivery)."""
        try:
            self._table.update_item(
                Key={"usage_id": usage_id},
                UpdateExpression="SET #s = :reported, reported_at = :t",
                ConditionExpression="attribute_exists(usage_id) AND #s <> :reported",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":reported": "reported", ":t": reported_at},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True
