"""Reading billing's MRR change feed (``cognitionos.mrr_feed``): the only part of the billing
table the revenue context may read, through its index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from boto3.dynamodb.conditions import Key

from cognitionos.dynamodb import all_items
from cognitionos.mrr_feed import (
    FEED_INDEX,
    FEED_PARTITION,
    FEED_PK,
    FEED_SK,
    RecordSet,
    feed_position,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class MrrFeedReader:
    def __init__(self, billing_table: Table) -> None:
        self._table = billing_table

    def since(self, cursor_ms: int) -> Iterator[RecordSet]:
        """Every customer's record set written at or after ``cursor_ms``, in write order
        (a set rewritten later shows up at its new position only)."""
        condition = Key(FEED_PK).eq(FEED_PARTITION) & Key(FEED_SK).gte(feed_position(cursor_ms))
        for item in all_items(
            self._table.query, IndexName=FEED_INDEX, KeyConditionExpression=condition
        ):
            yield RecordSet.from_item(item)
