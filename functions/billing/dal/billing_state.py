"""Billing state (customers, subscriptions, invoices) and the event status, written together.

One transaction writes the object's newest version and marks the event processed, so an
event's effect and its status can never disagree, and a redelivered event changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from billing.dal.event_log import status_update
from billing.logic.state import ApplyOutcome, StateChange
from cognitionos.dynamodb import is_condition_failure, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def state_key(kind: str, object_id: str) -> dict[str, str]:
    return {"pk": f"{kind.upper()}#{object_id}", "sk": "STATE"}


class BillingState:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client

    def apply(self, change: StateChange, event_id: str) -> ApplyOutcome:
        """Store ``change`` if it is newer than what is stored, and mark the event processed.

        Returns ``"applied"``, ``"stale"`` (a newer version was already stored; the event is
        still marked processed) or ``"duplicate"`` (the event was processed before).
        """
        # Plain dicts: the high-level client serialises Python values for us.
        items: list[Any] = [
            self._put_if_newer(change, event_id),
            {"Update": status_update(self._table.name, event_id, "processed")},
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if len(reasons) == 2 and reasons[1].get("Code") == "ConditionalCheckFailed":
                _require_logged(reasons[1], event_id)
                return "duplicate"
            if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
                raise
        else:
            return "applied"
        # Stale: only the status changes; a plain update costs half a one-item transaction.
        try:
            self._client.update_item(**status_update(self._table.name, event_id, "processed"))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            _require_logged(exc.response, event_id)  # type: ignore[arg-type]
            return "duplicate"
        return "stale"

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=state_key(kind, object_id)).get("Item")
        return plain(item) if item else None

    def _put_if_newer(self, change: StateChange, event_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            **state_key(change.kind, change.object_id),
            "kind": change.kind,
            "id": change.object_id,
            "customer_id": change.customer_id,
            "version": change.version,
            "version_event": event_id,
            **change.attributes,
        }
        if change.customer_id:
            item |= {
                "gsi3pk": f"CUSTOMER#{change.customer_id}",
                "gsi3sk": f"{change.kind.upper()}#{change.object_id}",
            }
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk) OR version < :v",
                "ExpressionAttributeValues": {":v": change.version},
            }
        }


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _require_logged(failure: dict[str, Any], event_id: str) -> None:
    """A failed status condition means "already processed" only if the event is logged (the
    old item came back); a never-logged event is an error, not something to skip silently."""
    if "Item" not in failure:
        raise LookupError(f"event {event_id} is not in the event log")
