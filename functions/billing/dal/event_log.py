"""The Stripe event log in the billing table: one item per event id, metadata only.

The payload is not kept (it carries personal data); the queue carries it to the processor.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from billing.models.events import EventRecord, EventStatus, StripeEventEnvelope
from cognitionos.dynamodb import (
    decode_page_token,
    encode_page_token,
    is_condition_failure,
    plain,
    put_unless_exists,
)
from cognitionos.timeutil import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

EVENT_RETENTION_S = 400 * 24 * 3600  # well past Stripe's 3 days of retries and 30 days of events
# Events read, newest first, to find the webhook endpoint's API version (repairs have none).
API_VERSION_LOOKBACK = 50
API_VERSION_PAGES = 4
_KEY = frozenset({"pk", "sk"})
_ALL_EVENTS = ("gsi2", "gsi2pk", "gsi2sk")


def event_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "EVENT"}


def _order_key(created: int, event_id: str) -> str:
    return f"{created:011d}#{event_id}"


@dataclass(frozen=True)
class EventPage:
    events: list[EventRecord]
    next_token: str | None


class EventLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record_once(self, event: StripeEventEnvelope, received_at: int) -> EventStatus | None:
        """Log the event with one conditional write; the earlier status if it was there."""
        order = _order_key(event.created, event.id)
        item: dict[str, Any] = {
            **event_key(event.id),
            "id": event.id,
            "type": event.type,
            "created": event.created,
            "object_id": event.object_id,
            "customer_id": event.customer_id,
            "api_version": event.api_version,
            "livemode": event.livemode,
            "status": "queued",
            "received_at": iso(received_at),
            "error": None,
            "expires_at": received_at + EVENT_RETENTION_S,
            "gsi1pk": "EVENTS#queued",
            "gsi1sk": order,
            "gsi2pk": "EVENTS",
            "gsi2sk": order,
        }
        if event.customer_id:
            item |= {"gsi3pk": f"CUSTOMER#{event.customer_id}", "gsi3sk": f"EVENT#{order}"}
        earlier = put_unless_exists(self._table, item, "pk")
        return earlier["status"] if earlier else None

    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool:
        """Set the status unless the event is already processed; False if it was."""
        try:
            self._table.meta.client.update_item(
                **status_update(self._table.name, event_id, status, error)
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def mark_follow_up_failed(self, event_id: str, error: str) -> None:
        """``failed`` with ``error``, even over ``processed``: the event's state is committed
        but what it sets off (dunning) is not done, and the message goes back to the queue.
        Its next delivery finds the state applied, marks it processed again and retries the
        follow-up."""
        self._table.meta.client.update_item(
            TableName=self._table.name,
            Key=event_key(event_id),
            UpdateExpression="SET #s = :s, #e = :e, gsi1pk = :g",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues={":s": "failed", ":e": error, ":g": "EVENTS#failed"},
        )

    def webhook_api_version(self) -> str | None:
        """The API version of the newest logged events that carry one: the version the
        account's webhook endpoint renders events in (Stripe sets it per endpoint). None
        before any event: a new account's default, the SDK's own version, applies."""
        kwargs: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": Key("gsi2pk").eq("EVENTS"),
            "ScanIndexForward": False,
            "FilterExpression": Attr("api_version").attribute_type("S"),
            "ProjectionExpression": "api_version",
            "Limit": API_VERSION_LOOKBACK,
        }
        for _ in range(API_VERSION_PAGES):
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                return str(item["api_version"])
            if "LastEvaluatedKey" not in page:
                return None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return None

    def get(self, event_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=event_key(event_id)).get("Item")
        return plain(item) if item else None

    def status(self, event_id: str) -> EventStatus | None:
        """The event's status as of now (a consistent read: it may have changed a moment
        ago in another execution environment); None if it was never logged."""
        item = self._table.get_item(
            Key=event_key(event_id),
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
            ConsistentRead=True,
        ).get("Item")
        return item["status"] if item else None  # type: ignore[return-value]

    def list(
        self,
        *,
        status: EventStatus | None,
        event_type: str | None,
        customer_id: str | None,
        limit: int,
        next_token: str | None,
    ) -> EventPage:
        """Newest first; by customer for tenant-bound callers, else by status or all."""
        if customer_id:
            index, pk_name, sk_name, pk = "gsi3", "gsi3pk", "gsi3sk", f"CUSTOMER#{customer_id}"
            key: Any = Key(pk_name).eq(pk) & Key(sk_name).begins_with("EVENT#")
        else:
            index, pk_name, sk_name = ("gsi1", "gsi1pk", "gsi1sk") if status else _ALL_EVENTS
            pk = f"EVENTS#{status}" if status else "EVENTS"
            key = Key(pk_name).eq(pk)
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        filters = [Attr("status").eq(status)] if status and customer_id else []
        if event_type:
            filters.append(Attr("type").eq(event_type))
        if filters:
            kwargs["FilterExpression"] = functools.reduce(operator.and_, filters)
        start = decode_page_token(next_token, {pk_name: pk}, frozenset(_KEY | {pk_name, sk_name}))
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        events = [event_record(plain(item)) for item in page.get("Items", [])]
        return EventPage(events, encode_page_token(page.get("LastEvaluatedKey")))


def status_update(
    table_name: str, event_id: str, status: EventStatus, error: str | None = None
) -> dict[str, Any]:
    """The conditional update that sets an event's status unless it is already processed.

    One spec, used on its own and inside the processor's transaction. On a condition
    failure the old item comes back, so a caller can tell "processed before" from "never
    logged".
    """
    return {
        "TableName": table_name,
        "Key": event_key(event_id),
        "UpdateExpression": "SET #s = :s, #e = :e, gsi1pk = :g",
        "ConditionExpression": "attribute_exists(pk) AND #s <> :processed",
        "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
        "ExpressionAttributeValues": {
            ":s": status,
            ":e": error,
            ":g": f"EVENTS#{status}",
            ":processed": "processed",
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def event_record(item: dict[str, Any]) -> EventRecord:
    return EventRecord(
        id=item["id"],
        type=item["type"],
        created=iso(int(item["created"])),
        status=item["status"],
        received_at=item["received_at"],
        error=item.get("error"),
    )
