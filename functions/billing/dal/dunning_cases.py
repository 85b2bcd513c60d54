"""Dunning cases in the billing table: one item per invoice, no personal data.

``pk = DUNNING#<invoice id>``, ``sk = CASE``. A listed case is indexed three ways: gsi1
(``DUNNING``, sorted ``<status>#<opened>#<invoice>``: the status filter is a key prefix),
gsi2 (``DUNNING#SUBSCRIPTION#<id>``: a subscription's cases) and gsi3 (``CUSTOMER#<id>``,
``DUNNING#<invoice>``: a customer's items). A tombstone (closed before any failure) has no
index keys and expires after ``TOMBSTONE_TTL_S``.

Every write is a whole-item put conditioned on the revision read (optimistic concurrency):
the processor and the job never overwrite each other's change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from billing.logic.dunning import TOMBSTONE_TTL_S, CaseStatus, DunningCase, EmailRecord
from billing.logic.dunning_audit import audit_transitions
from cognitionos.audit.chain import Draft
from cognitionos.audit.store import (
    AuditLog,
    ChainContended,
    cancellation_reasons,
    contention_pause,
)
from cognitionos.dynamodb import (
    all_items,
    decode_page_token,
    encode_page_token,
    is_condition_failure,
    plain,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ALL_CASES = "DUNNING"


def case_key(invoice_id: str) -> dict[str, str]:
    return {"pk": f"DUNNING#{invoice_id}", "sk": "CASE"}


MAX_AUDIT_ATTEMPTS = 8  # the case's write placed after a moved audit head, again


@dataclass(frozen=True)
class CasePage:
    cases: list[DunningCase]
    next_token: str | None


class DunningCases:
    def __init__(self, table: Table, audit: AuditLog | None = None) -> None:
        self._table = table
        self._audit = audit  # records a case's audited steps in the case's own write

    def get(self, invoice_id: str) -> DunningCase | None:
        item = self._table.get_item(Key=case_key(invoice_id), ConsistentRead=True).get("Item")
        return case_from_item(plain(item)) if item else None

    def save(
        self,
        case: DunningCase,
        expected_revision: int | None,
        previous: DunningCase | None = None,
    ) -> bool:
        item = case_item(case, (expected_revision or 0) + 1)
        if expected_revision is None:
            condition: Any = Attr("pk").not_exists()
        else:
            condition = Attr("revision").eq(expected_revision)
        drafts = self._audit_drafts(previous, case)
        if drafts and self._audit is not None:
            return self._save_with_audit(item, expected_revision, drafts, self._audit)
        try:
            self._table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _audit_drafts(self, previous: DunningCase | None, case: DunningCase) -> list[Draft]:
        if self._audit is None:
            return []
        return [
            self._audit.draft(
                action,
                actor="system",
                resource=f"invoice:{case.invoice_id}",
                tenant_id=case.customer,
                details=details,
            )
            for action, details in audit_transitions(previous, case)
        ]

    def _save_with_audit(
        self,
        item: dict[str, Any],
        expected_revision: int | None,
        drafts: list[Draft],
        audit: AuditLog,
    ) -> bool:
        """The case and its audit entries in one transaction; False if the case moved."""
        put: dict[str, Any] = {"TableName": self._table.name, "Item": item}
        if expected_revision is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#r = :r"
            put["ExpressionAttributeNames"] = {"#r": "revision"}
            put["ExpressionAttributeValues"] = {":r": expected_revision}
        appended = audit.prepare(drafts)
        for attempt in range(MAX_AUDIT_ATTEMPTS):
            if attempt > 1:
                contention_pause(attempt)
            try:
                self._table.meta.client.transact_write_items(
                    TransactItems=[{"Put": put}, *appended.transact_items]  # type: ignore[typeddict-item, list-item]
                )
            except ClientError as exc:
                reasons = cancellation_reasons(exc)
                if not reasons:
                    raise
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False  # another writer changed the case: decided again
                appended = audit.after_conflict(appended, reasons)
                continue
            audit.committed(appended)
            return True
        raise ChainContended(f"customer {item.get('customer')}'s audit chain kept moving")

    def cases_of_subscription(self, subscription_id: str) -> list[DunningCase]:
        key = Key("gsi2pk").eq(f"DUNNING#SUBSCRIPTION#{subscription_id}")
        return list(self._query_all(IndexName="gsi2", KeyConditionExpression=key))

    def open_cases(self) -> Iterator[DunningCase]:
        key = Key("gsi1pk").eq(ALL_CASES) & Key("gsi1sk").begins_with("open#")
        return self._query_all(IndexName="gsi1", KeyConditionExpression=key)

    def open_case_of(self, customer_id: str) -> DunningCase | None:
        """The customer's most recently opened open case, for the customer read route."""
        page = self.list(status="open", customer_id=customer_id, limit=100, next_token=None)
        return max(page.cases, key=lambda c: c.opened_at or 0, default=None)

    def list(
        self,
        *,
        status: CaseStatus | None,
        customer_id: str | None,
        limit: int,
        next_token: str | None,
    ) -> CasePage:
        """Newest first within a status; one customer's cases for a tenant-bound caller."""
        kwargs: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit}
        if customer_id:
            pk_name, sk_name, pk = "gsi3pk", "gsi3sk", f"CUSTOMER#{customer_id}"
            kwargs["IndexName"] = "gsi3"
            kwargs["KeyConditionExpression"] = Key(pk_name).eq(pk) & Key(sk_name).begins_with(
                "DUNNING#"
            )
            if status:
                kwargs["FilterExpression"] = Attr("status").eq(status)
        else:
            pk_name, sk_name, pk = "gsi1pk", "gsi1sk", ALL_CASES
            kwargs["IndexName"] = "gsi1"
            key: Any = Key(pk_name).eq(pk)
            kwargs["KeyConditionExpression"] = (
                key & Key("gsi1sk").begins_with(f"{status}#") if status else key
            )
        key_attributes = frozenset({"pk", "sk", pk_name, sk_name})
        start = decode_page_token(next_token, {pk_name: pk}, key_attributes)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        cases = [case_from_item(plain(item)) for item in page.get("Items", [])]
        return CasePage(cases, encode_page_token(page.get("LastEvaluatedKey")))

    def _query_all(self, **kwargs: Any) -> Iterator[DunningCase]:
        return (case_from_item(item) for item in all_items(self._table.query, **kwargs))


def case_item(case: DunningCase, revision: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        **case_key(case.invoice_id),
        "kind": "dunning_case",
        "invoice_id": case.invoice_id,
        "customer": case.customer,
        "subscription": case.subscription,
        "status": case.status,
        "attempt_count": case.attempt_count,
        "next_attempt_at": case.next_attempt_at,
        "amount_due": case.amount_due,
        "currency": case.currency,
        "hosted_invoice_url": case.hosted_invoice_url,
        "version": case.version,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "closed_reason": case.closed_reason,
        "churn": case.churn,
        "emails": {key: vars(email).copy() for key, email in case.emails.items()},
        "revision": revision,
    }
    if case.opened_at is None:
        item["expires_at"] = case.version + TOMBSTONE_TTL_S
        return item
    item |= {
        "gsi1pk": ALL_CASES,
        "gsi1sk": f"{case.status}#{case.opened_at:011d}#{case.invoice_id}",
    }
    if case.subscription:
        item |= {
            "gsi2pk": f"DUNNING#SUBSCRIPTION#{case.subscription}",
            "gsi2sk": f"DUNNING#{case.invoice_id}",
        }
    if case.customer:
        item |= {"gsi3pk": f"CUSTOMER#{case.customer}", "gsi3sk": f"DUNNING#{case.invoice_id}"}
    return item


def case_from_item(item: dict[str, Any]) -> DunningCase:
    return DunningCase(
        invoice_id=item["invoice_id"],
        customer=item.get("customer"),
        subscription=item.get("subscription"),
        status=item["status"],
        attempt_count=int(item["attempt_count"]),
        next_attempt_at=item.get("next_attempt_at"),
        amount_due=int(item["amount_due"]),
        currency=item["currency"],
        hosted_invoice_url=item.get("hosted_invoice_url"),
        version=int(item["version"]),
        opened_at=item.get("opened_at"),
        closed_at=item.get("closed_at"),
        closed_reason=item.get("closed_reason"),
        churn=item.get("churn"),
        emails={key: EmailRecord(**email) for key, email in (item.get("emails") or {}).items()},
        revision=int(item["revision"]),
    )
