"""Billing state (customers, subscriptions, invoices) and the event status, written together.

One transaction writes the object's newest version and marks the event processed, so an
event's effect and its status can never disagree, and a redelivered event changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from billing.dal.event_log import event_key
from billing.logic.state import StateChange
from cognitionos.dynamodb import is_condition_failure, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


ApplyOutcome = Literal["applied", "stale", "duplicate"]


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
        try:
            self._client.transact_write_items(
                TransactItems=[self._put_if_newer(change, event_id), self._mark_processed(event_id)]  # type: ignore[list-item]
            )
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if len(reasons) == 2 and _already_processed(reasons[1], event_id):
                return "duplicate"
            if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
                raise
        else:
            return "applied"
        # Stale: only the status changes; a plain update costs half a one-item transaction.
        try:
            self._client.update_item(**self._mark_processed(event_id)["Update"])
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            reason = {"Code": "ConditionalCheckFailed", **exc.response}
            if _already_processed(reason, event_id):
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

    def _mark_processed(self, event_id: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": event_key(event_id),
                "UpdateExpression": "SET #s = :s, #e = :none, gsi1pk = :g",
                "ConditionExpression": "attribute_exists(pk) AND #s <> :s",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                "ExpressionAttributeValues": {
                    ":s": "processed",
                    ":none": None,
                    ":g": "EVENTS#processed",
                },
            }
        }


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _already_processed(reason: dict[str, Any], event_id: str) -> bool:
    """The status update failed because the event is processed; an event that was never
    logged is an error (intake always logs first), not something to skip silently."""
    if reason.get("Code") != "ConditionalCheckFailed":
        return False
    if "Item" not in reason:
        raise LookupError(f"event {event_id} is not in the event log")
    return True
