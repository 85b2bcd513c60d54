"""Billing state in the billing table: each object's newest version, each customer's history
of subscription and discount versions, its MRR change records, and the event status.

One transaction writes everything an event changes together with its ``processed`` status,
so an event's effects and its status never disagree and a redelivery changes nothing.

Items: ``<KIND>#<id> / STATE`` (newest version); ``HISTORY#<customer> / <KIND>#<id>#<version>``
(every version); ``HISTORY#<customer> / MRR#<currency>#<effective>`` (change records, also
published in the order they were written as the MRR change feed, ``cognitionos.mrr_feed``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from billing.dal.event_log import status_update
from billing.logic.history import CustomerHistory, HistoryEntry
from billing.logic.movements import MrrChange
from billing.logic.process import CommitPlan, CommitResult
from billing.logic.state import Kind, StateChange
from cognitionos.crypto import SubjectErased
from cognitionos.dynamodb import all_items, is_condition_failure, plain
from cognitionos.mrr_feed import FEED_PK, FEED_SK, feed_index_keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MAX_TRANSACTION_ITEMS = 100


class FieldEncryptor(Protocol):
    def encrypt(self, subject_id: str, field: str, plaintext: str) -> str: ...


def state_key(kind: str, object_id: str) -> dict[str, str]:
    return {"pk": f"{kind.upper()}#{object_id}", "sk": "STATE"}


def history_pk(customer_id: str) -> str:
    return f"HISTORY#{customer_id}"


class BillingState:
    def __init__(self, table: Table, encryptor: FieldEncryptor | None = None) -> None:
        self._table = table
        self._client = table.meta.client
        self._encryptor = encryptor

    # --- reads ---------------------------------------------------------------------------

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=state_key(kind, object_id)).get("Item")
        return plain(item) if item else None

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's subscriptions (newest versions), by id."""
        return list(
            all_items(
                self._table.query,
                IndexName="gsi3",
                KeyConditionExpression=Key("gsi3pk").eq(f"CUSTOMER#{customer_id}")
                & Key("gsi3sk").begins_with("SUBSCRIPTION#"),
            )
        )

    def status_of(self, subscription_id: str) -> str | None:
        item = self._table.get_item(
            Key=state_key("subscription", subscription_id),
            ConsistentRead=True,
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
        ).get("Item")
        return str(item["status"]) if item and item.get("status") else None

    def stored_version(self, kind: Kind, object_id: str) -> str | None:
        item = self._table.get_item(
            Key=state_key(kind, object_id), ConsistentRead=True, ProjectionExpression="version"
        ).get("Item")
        return str(item["version"]) if item else None

    def history(self, customer_id: str) -> CustomerHistory:
        entries: list[HistoryEntry] = []
        records: dict[str, MrrChange] = {}
        for item in self._history_items(customer_id):
            sk = str(item["sk"])
            if sk.startswith("MRR#"):
                if not item.get("voided"):
                    record = mrr_change_of(item)
                    records[record.key] = record
            else:
                entries.append(
                    HistoryEntry(
                        item["kind"],
                        item["object_id"],
                        item["version"],
                        item["created"],
                        item["state"],
                    )
                )
        return CustomerHistory(customer_id, tuple(entries), records)

    def mrr_changes(self, customer_id: str) -> list[MrrChange]:
        return list(self.history(customer_id).records.values())

    def _history_items(self, customer_id: str) -> list[dict[str, Any]]:
        return list(
            all_items(
                self._table.query,
                KeyConditionExpression=Key("pk").eq(history_pk(customer_id)),
                ConsistentRead=True,
            )
        )

    # --- writes --------------------------------------------------------------------------

    def commit(self, plan: CommitPlan) -> CommitResult:
        """Write the plan and mark the event processed, atomically.

        ``"duplicate"``: the event was processed before; ``"state_moved"``: the stored state
        is not at ``plan.state_guard`` any more. Nothing is written in either case.
        """
        recorded_ms = int(time.time() * 1000)
        records = [self._record_put(r, recorded_ms) for r in plan.record_puts]
        records += [self._record_void(r, recorded_ms) for r in plan.record_voids]
        items: list[Any] = [{"Put": self._history_put(c)} for c in plan.versions]
        if plan.state is not None:
            items.append({"Put": self._state_put(plan.state, plan.event_id, plan.state_guard)})
        # A late event that reshapes a long history may exceed one transaction: the record
        # writes are idempotent, so the overflow goes first and a retry derives them again.
        room = MAX_TRANSACTION_ITEMS - len(items) - 1
        split = max(len(records) - room, 0)
        overflow, records = records[:split], records[split:]
        for spec in overflow:
            self._write_one(spec)
        items += records
        items.append({"Update": status_update(self._table.name, plan.event_id, "processed")})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if not reasons:
                raise
            if reasons[-1].get("Code") == "ConditionalCheckFailed":
                _require_logged(reasons[-1], plan.event_id)
                return "duplicate"
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return "state_moved"
            raise
        return "committed"

    def mark_processed(self, event_id: str) -> bool:
        try:
            self._client.update_item(**status_update(self._table.name, event_id, "processed"))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            _require_logged(exc.response, event_id)  # type: ignore[arg-type]
            return False
        return True

    def _state_put(self, change: StateChange, event_id: str, guard: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            **state_key(change.kind, change.object_id),
            "kind": change.kind,
            "id": change.object_id,
            "customer_id": change.customer_id,
            "version": change.version,
            "created": change.created,
            "version_event": event_id,
            **change.attributes,
            **self._encrypted(change),
        }
        if change.customer_id:
            item |= {
                "gsi3pk": f"CUSTOMER#{change.customer_id}",
                "gsi3sk": f"{change.kind.upper()}#{change.object_id}",
            }
        if guard is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": guard},
            }
        return {"TableName": self._table.name, "Item": item, **condition}

    def _encrypted(self, change: StateChange) -> dict[str, str]:
        """Personal fields, encrypted with the subject's key. Never stored in plaintext: with
        no keyring, or once the subject was erased (GDPR), they are not stored at all."""
        if not change.personal or self._encryptor is None:
            return {}
        subject = change.customer_id or change.object_id
        try:
            return {
                f"{name}_enc": self._encryptor.encrypt(subject, name, value)
                for name, value in change.personal.items()
            }
        except SubjectErased:
            return {}

    def _history_put(self, change: StateChange) -> dict[str, Any]:
        if change.customer_id is None:  # the processor only keeps histories of customers
            raise ValueError(f"{change.kind} {change.object_id} has no customer")
        return {
            "TableName": self._table.name,
            "Item": {
                "pk": history_pk(change.customer_id),
                "sk": f"{change.kind.upper()}#{change.object_id}#{change.version}",
                "kind": change.kind,
                "object_id": change.object_id,
                "version": change.version,
                "created": change.created,
                "state": change.attributes,
            },
        }

    def _record_put(self, record: MrrChange, recorded_ms: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": {
                    "pk": history_pk(record.customer_id),
                    "sk": f"MRR#{record.key}",
                    "customer_id": record.customer_id,
                    "currency": record.currency,
                    "effective_at": record.effective_at,
                    "mrr_from": record.mrr_from,
                    "mrr_to": record.mrr_to,
                    "kind": record.kind,
                    "involuntary": record.involuntary,
                    "voided": False,
                    "recorded_at": recorded_ms,
                    **feed_index_keys(recorded_ms, record.customer_id, record.key),
                },
            }
        }

    def _record_void(self, record: MrrChange, recorded_ms: int) -> dict[str, Any]:
        index = feed_index_keys(recorded_ms, record.customer_id, record.key)
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": history_pk(record.customer_id), "sk": f"MRR#{record.key}"},
                "UpdateExpression": (
                    f"SET voided = :t, recorded_at = :r, {FEED_PK} = :p, {FEED_SK} = :s"
                ),
                "ExpressionAttributeValues": {
                    ":t": True,
                    ":r": recorded_ms,
                    ":p": index[FEED_PK],
                    ":s": index[FEED_SK],
                },
            }
        }

    def _write_one(self, spec: dict[str, Any]) -> None:
        if "Put" in spec:
            self._client.put_item(**spec["Put"])
        else:
            self._client.update_item(**spec["Update"])


def mrr_change_of(item: dict[str, Any]) -> MrrChange:
    return MrrChange(
        customer_id=item["customer_id"],
        currency=item["currency"],
        effective_at=int(item["effective_at"]),
        mrr_from=int(item["mrr_from"]),
        mrr_to=int(item["mrr_to"]),
        kind=item["kind"],
        involuntary=bool(item.get("involuntary")),
    )


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _require_logged(failure: dict[str, Any], event_id: str) -> None:
    """A failed status condition means "already processed" only if the event is logged (the
    old item came back); a never-logged event is an error, not something to skip silently."""
    if "Item" not in failure:
        raise LookupError(f"event {event_id} is not in the event log")
