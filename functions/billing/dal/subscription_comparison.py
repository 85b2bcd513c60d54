"""What the nightly subscription comparison reads and writes in the billing table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from billing.dal.event_log import EVENT_RETENTION_S
from billing.logic.reconcile import Drift
from cognitionos.dynamodb import all_items
from cognitionos.timeutil import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

REPAIRS_PK = "RECONCILE#repairs"


def stored_subscriptions(table: Table) -> dict[str, dict[str, Any]]:
    """Every subscription state item, by subscription id.

    One paginated Scan: no index lists subscriptions alone, and once a night reading the whole
    table (about its size / 8 KB in read units, eventually consistent) is cheaper than one
    read per subscription on top of a scan for the ones Stripe no longer lists.
    """
    items = all_items(
        table.scan, FilterExpression=Attr("sk").eq("STATE") & Attr("kind").eq("subscription")
    )
    return {str(item["id"]): item for item in items}


class RepairLog:
    """One item per repair, newest last under ``RECONCILE#repairs``; no personal data."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, drift: Drift, at: int) -> None:
        self._table.put_item(
            Item={
                "pk": REPAIRS_PK,
                "sk": f"{iso(at)}#{drift.subscription_id}",
                "subscription_id": drift.subscription_id,
                "customer_id": drift.customer_id,
                "reason": drift.reason,
                "fields": list(drift.fields),
                "event_id": drift.event_id,
                "detected_at": iso(at),
                "expires_at": at + EVENT_RETENTION_S,
            }
        )
