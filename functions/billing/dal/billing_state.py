"""Billing state in the billing table: each object's newest version, each customer's history
of subscription and discount versions, its MRR change records, and the event status.

One transaction writes everything an event changes together with its ``processed`` status,
so an event's effects and its status never disagree and a redelivery changes nothing.

Items: ``<KIND>#<id> / STATE`` (newest version); under ``HISTORY#<customer>``:
``<KIND>#<id>#<version>`` (every version), ``TIE#<KIND>#<id>#<created>`` (Stripe's choice
among one second's versions) and ``MRR`` (the whole record set, published as the MRR change
feed, ``cognitionos.mrr_feed``); ``COUPON#<id> / AWAITING#<customer>`` (a customer whose
records wait for that coupon's terms).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from billing.dal.event_log import status_update
from billing.logic.history import CustomerHistory, HistoryEntry, TieKey
from billing.logic.movements import MrrChange, effective_time
from billing.logic.process import CommitPlan, CommitResult
from billing.logic.state import Kind, ObjectVersion, StateChange
from cognitionos.audit.chain import Draft
from cognitionos.audit.store import (
    LOST_RACE,
    AuditLog,
    ChainContended,
    PreparedAppend,
    contention_pause,
)
from cognitionos.crypto import SubjectErased
from cognitionos.dynamodb import all_items, is_condition_failure, plain
from cognitionos.mrr_feed import SET_SK, feed_index_keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MAX_TRANSACTION_ITEMS = 100
# A commit whose audit chain moved meanwhile is placed after the new head and tried again.
MAX_AUDIT_ATTEMPTS = 8
# DynamoDB's item limit is 400 KB; a record takes ~120 bytes, so ~3,000 records fit.
MAX_RECORD_SET_BYTES = 350_000


class RecordSetTooLarge(ValueError):
    """A customer's record set would not fit in one item."""


class FieldEncryptor(Protocol):
    def encrypt(self, subject_id: str, field: str, plaintext: str) -> str: ...


def state_key(kind: str, object_id: str) -> dict[str, str]:
    return {"pk": f"{kind.upper()}#{object_id}", "sk": "STATE"}


def history_pk(customer_id: str) -> str:
    return f"HISTORY#{customer_id}"


def coupon_key(coupon_id: str) -> dict[str, str]:
    return state_key("coupon", coupon_id)


def awaiting_key(coupon_id: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"COUPON#{coupon_id}", "sk": f"AWAITING#{customer_id}"}


def _now_ms() -> int:
    return int(time.time() * 1000)


class BillingState:
    def __init__(
        self,
        table: Table,
        encryptor: FieldEncryptor | None = None,
        clock_ms: Callable[[], int] = _now_ms,  # a record set's position in the feed
        audit: AuditLog | None = None,  # records each processed event in the same commit
        # The keyed blind index of an email (cognitionos.crypto.blind_index): a customer's
        # state item carries its email's as ``email_bidx`` (the customer-email index), so a
        # GDPR request naming the email finds the customer without the plaintext.
        email_index: Callable[[str], str] | None = None,
    ) -> None:
        self._table = table
        self._client = table.meta.client
        self._encryptor = encryptor
        self._clock_ms = clock_ms
        # Each customer's record set as this instance last read or committed it, and every
        # currency those sets named, so that what follows an event (the billing.mrr gauge)
        # needs no second read, and a currency the records no longer name is set to 0.
        self._records_known: dict[str, tuple[MrrChange, ...]] = {}
        self._currencies_known: dict[str, set[str]] = {}
        self._audit = audit
        self._email_index = email_index

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

    def standing_of(self, subscription_id: str) -> tuple[str | None, int | None]:
        """The subscription's stored status and since when it holds (``effective_time``:
        ``ended_at`` for an ended one); ``(None, None)`` when unknown."""
        item = self._table.get_item(
            Key=state_key("subscription", subscription_id),
            ConsistentRead=True,
            ProjectionExpression="#s, ended_at, created",
            ExpressionAttributeNames={"#s": "status"},
        ).get("Item")
        if not item or not item.get("status"):
            return None, None
        state = plain(item)
        return str(state["status"]), effective_time(int(state["created"]), state)

    def stored_version(self, kind: Kind, object_id: str) -> str | None:
        item = self._table.get_item(
            Key=state_key(kind, object_id), ConsistentRead=True, ProjectionExpression="version"
        ).get("Item")
        return str(item["version"]) if item else None

    def history(self, customer_id: str) -> CustomerHistory:
        entries: list[HistoryEntry] = []
        records: tuple[MrrChange, ...] = ()
        awaiting: frozenset[str] = frozenset()
        ties: dict[TieKey, str] = {}
        for item in self._history_items(customer_id):
            sk = str(item["sk"])
            if sk == SET_SK:
                records = tuple(mrr_change_of(customer_id, r) for r in item.get("records") or [])
                awaiting = frozenset(item.get("awaiting_coupons") or ())
            elif sk.startswith("TIE#"):
                key = (str(item["kind"]), str(item["object_id"]), int(item["created"]))
                ties[key] = str(item["winner"])
            elif sk.startswith("MRR#"):
                continue  # one item per record, before record sets: superseded by MRR
            else:
                entries.append(
                    HistoryEntry(
                        item["kind"],
                        item["object_id"],
                        item["version"],
                        int(item["created"]),
                        item["state"],
                    )
                )
        self._know(customer_id, records)
        return CustomerHistory(customer_id, tuple(entries), records, ties, awaiting)

    def mrr_changes(self, customer_id: str) -> list[MrrChange]:
        return list(self.history(customer_id).records)

    def record_set(self, customer_id: str) -> tuple[list[MrrChange], set[str]]:
        """The customer's MRR change records, and every currency they named as this instance
        saw them (a currency can drop out of the set when a late event reshapes it): as last
        read or committed here (a processor is one per record), else one consistent
        ``GetItem``."""
        if customer_id not in self._records_known:
            item = self._table.get_item(
                Key={"pk": history_pk(customer_id), "sk": SET_SK},
                ConsistentRead=True,
                ProjectionExpression="#r",
                ExpressionAttributeNames={"#r": "records"},
            ).get("Item")
            stored: list[dict[str, Any]] = (plain(item).get("records") if item else None) or []
            self._know(customer_id, tuple(mrr_change_of(customer_id, r) for r in stored))
        currencies = set(self._currencies_known[customer_id])
        return list(self._records_known[customer_id]), currencies

    def coupon_terms(self, coupon_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The stored terms of these coupons (consistent reads); unknown ones are absent."""
        found: dict[str, dict[str, Any]] = {}
        wanted = [coupon_key(c) for c in sorted(coupon_ids)]
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self._table.name: {"Keys": wanted[start : start + 100], "ConsistentRead": True}
            }
            while request:
                page = self._client.batch_get_item(RequestItems=request)
                for item in page["Responses"].get(self._table.name, []):
                    found[str(item["id"])] = {
                        k: plain(item.get(k))
                        for k in ("percent_off", "amount_off", "currency", "duration")
                    }
                request = page.get("UnprocessedKeys") or {}
        return found

    def awaiting_customers(self, coupon_id: str) -> list[str]:
        """Customers whose records wait for this coupon's terms."""
        return [
            str(item["customer_id"])
            for item in all_items(
                self._table.query,
                KeyConditionExpression=Key("pk").eq(f"COUPON#{coupon_id}")
                & Key("sk").begins_with("AWAITING#"),
                ConsistentRead=True,
            )
        ]

    def learn_coupon(self, coupon: StateChange) -> bool:
        """Store a coupon read from Stripe unless one is stored; True if this stored it."""
        spec = self._state_put(coupon.as_stored(), None, None)
        try:
            self._client.put_item(**spec)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

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
        is not at ``plan.state_guard`` any more; ``"coupon_arrived"``: a coupon the plan
        priced as unknown is stored now. Nothing is written in any of these cases.
        """
        items: list[tuple[str, dict[str, Any]]] = [
            ("version", {"Put": self._history_put(c)}) for c in plan.versions
        ]
        if plan.state is not None:
            items.append(
                ("state", {"Put": self._state_put(plan.state, plan.event_id, plan.state_guard)})
            )
        if plan.tie is not None:
            items.append(("tie", {"Put": self._tie_put(plan.customer_id, *plan.tie)}))
        if plan.writes_records:
            items += self._record_set_writes(plan)
        if plan.event_id is not None:
            items.append(
                ("status", {"Update": status_update(self._table.name, plan.event_id, "processed")})
            )
        drafts = audit_drafts(plan, self._audit)
        room = MAX_TRANSACTION_ITEMS - (len(drafts) + 1 if drafts else 0)
        if len(items) > room:
            raise ValueError(
                f"one event writes {len(items)} items, more than a transaction holds "
                f"({room} beside its audit entries): customer {plan.customer_id} awaits too "
                "many coupons"
            )
        audit = self._audit if drafts else None
        appended = audit.prepare(drafts) if audit else None
        for attempt in range(MAX_AUDIT_ATTEMPTS):
            if attempt > 1:
                contention_pause(attempt)
            outcome, reasons = self._transact(items, appended, str(plan.event_id))
            if outcome is not None:
                break
            # Only the audit chain moved under this commit (another writer appended to the
            # tenant's chain): the same writes, with the entries placed after the new head.
            appended = audit.after_conflict(appended, reasons)  # type: ignore[union-attr, arg-type]
        else:
            raise ChainContended(f"customer {plan.customer_id}'s audit chain kept moving")
        if outcome == "committed" and audit and appended:
            audit.committed(appended)
        if outcome == "committed" and plan.writes_records and plan.customer_id is not None:
            self._know(plan.customer_id, plan.records)
        return outcome

    def _transact(
        self,
        items: list[tuple[str, dict[str, Any]]],
        appended: PreparedAppend | None,
        event_id: str,
    ) -> tuple[CommitResult | None, list[dict[str, Any]]]:
        """The transaction's result; ``None`` with the reasons when only the audit chain's
        head had moved."""
        audit_items = appended.transact_items if appended else []
        try:
            self._client.transact_write_items(
                TransactItems=[spec for _, spec in items] + audit_items  # type: ignore[arg-type]
            )
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if not reasons:
                raise
            billing_reasons = reasons[: len(items)]
            failed = {
                role
                for (role, _), r in zip(items, billing_reasons, strict=True)
                if r.get("Code") == "ConditionalCheckFailed"
            }
            if "status" in failed:
                _require_logged(billing_reasons[-1], event_id)
                return "duplicate", reasons
            if "coupon" in failed:
                return "coupon_arrived", reasons
            if "state" in failed:
                return "state_moved", reasons
            if appended and any(r.get("Code") in LOST_RACE for r in reasons[len(items) :]):
                return None, reasons
            raise
        return "committed", []

    def _know(self, customer_id: str, records: tuple[MrrChange, ...]) -> None:
        self._records_known[customer_id] = records
        self._currencies_known.setdefault(customer_id, set()).update(r.currency for r in records)

    def mark_processed(self, event_id: str) -> bool:
        try:
            self._client.update_item(**status_update(self._table.name, event_id, "processed"))
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            _require_logged(exc.response, event_id)  # type: ignore[arg-type]
            return False
        return True

    def _state_put(
        self, change: ObjectVersion, event_id: str | None, guard: str | None
    ) -> dict[str, Any]:
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
        email = change.personal.get("email") if change.kind == "customer" else None
        if email and self._email_index is not None and "email_enc" in item:
            item["email_bidx"] = self._email_index(email)  # not for an erased subject
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

    def _encrypted(self, change: ObjectVersion) -> dict[str, str]:
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

    def _tie_put(self, customer_id: str | None, key: TieKey, winner: str) -> dict[str, Any]:
        kind, object_id, created = key
        return {
            "TableName": self._table.name,
            "Item": {
                "pk": history_pk(str(customer_id)),
                "sk": f"TIE#{kind.upper()}#{object_id}#{created:011d}",
                "kind": kind,
                "object_id": object_id,
                "created": created,
                "winner": winner,
            },
        }

    def _record_set_writes(self, plan: CommitPlan) -> list[tuple[str, dict[str, Any]]]:
        """The customer's record set, rewritten whole (and so re-published in the feed), the
        markers of the coupons it awaits, and a check that each of those is still unknown:
        a coupon stored meanwhile cancels the commit, which is decided again with it."""
        customer_id = str(plan.customer_id)
        recorded_ms = self._clock_ms()
        records = [_record_item(r) for r in plan.records]
        item = {
            "pk": history_pk(customer_id),
            "sk": SET_SK,
            "customer_id": customer_id,
            "records": records,
            "awaiting_coupons": sorted(plan.awaiting),
            "recorded_at": recorded_ms,
            **feed_index_keys(recorded_ms, customer_id),
        }
        size = len(json.dumps(item, default=str))
        if size > MAX_RECORD_SET_BYTES:
            raise RecordSetTooLarge(
                f"customer {customer_id} has {len(records)} MRR change records ({size} bytes), "
                f"more than one item holds ({MAX_RECORD_SET_BYTES} bytes)"
            )
        table = self._table.name
        writes: list[tuple[str, dict[str, Any]]] = [
            ("records", {"Put": {"TableName": table, "Item": item}})
        ]
        for coupon_id in sorted(plan.awaiting - plan.previously_awaiting):
            marker = {**awaiting_key(coupon_id, customer_id), "customer_id": customer_id}
            writes.append(("awaiting", {"Put": {"TableName": table, "Item": marker}}))
        for coupon_id in sorted(plan.previously_awaiting - plan.awaiting):
            key = awaiting_key(coupon_id, customer_id)
            writes.append(("awaiting", {"Delete": {"TableName": table, "Key": key}}))
        for coupon_id in sorted(plan.awaiting):
            check = {
                "TableName": table,
                "Key": coupon_key(coupon_id),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            writes.append(("coupon", {"ConditionCheck": check}))
        return writes


def audit_drafts(plan: CommitPlan, audit: AuditLog | None) -> list[Draft]:
    """What the commit of ``plan`` records in the tenant's audit chain: the event processed,
    and a subscription's new current version. Nothing for a re-derivation (no event)."""
    if audit is None or plan.event_id is None:
        return []
    changed = plan.state or (plan.versions[0] if plan.versions else None)
    tenant = plan.customer_id or (changed.customer_id if changed else None)
    if tenant is None and changed is not None and changed.kind == "customer":
        tenant = changed.object_id
    details: dict[str, Any] = {"stripe_event_id": plan.event_id}
    if changed is not None:
        details |= {
            "object": f"{changed.kind}:{changed.object_id}",
            "version": changed.version,
            "current": plan.state is not None,  # False: an older version, history only
        }
    resource = f"stripe_event:{plan.event_id}"
    drafts = [
        audit.draft(
            "billing.event.processed",
            actor="stripe",
            resource=resource,
            tenant_id=tenant,
            details=details,
        )
    ]
    if plan.state is not None and plan.state.kind == "subscription":
        status = plan.state.attributes.get("status")
        drafts.append(
            audit.draft(
                "subscription.changed",
                actor="stripe",
                resource=f"subscription:{plan.state.object_id}",
                tenant_id=tenant,
                details={
                    "stripe_event_id": plan.event_id,
                    "status": str(status) if status is not None else None,
                    "version": plan.state.version,
                },
            )
        )
    return drafts


def _record_item(record: MrrChange) -> dict[str, Any]:
    return {
        "currency": record.currency,
        "effective_at": record.effective_at,
        "mrr_from": record.mrr_from,
        "mrr_to": record.mrr_to,
        "kind": record.kind,
        "involuntary": record.involuntary,
    }


def mrr_change_of(customer_id: str, item: dict[str, Any]) -> MrrChange:
    return MrrChange(
        customer_id=customer_id,
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
