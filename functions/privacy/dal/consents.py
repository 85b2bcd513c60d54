"""Consent records in the privacy table: appended, never changed, read back as one Query.

Items (pk / sk):
- ``CONSENT#<customer id>`` / ``<time>#<consent id>``: one grant or withdrawal. Purpose,
  answer, notice version, method and time are plain (they are the proof of consent that is
  kept after an erasure, and hold nothing personal); the optional ``proof`` text is sealed
  with the subject's data key (``proof_sealed``), so an erasure makes it unreadable.
- ``CONSENT_KEY#<digest>`` / ``IDEMPOTENCY``: the record an ``Idempotency-Key`` first made
  (the digest is a keyed MAC of customer and key: no caller text in the table), with the
  request's fingerprint; it expires (``expires_at``) after a day.

A record, its idempotency item and its ``privacy.consent.recorded`` audit entry are one
transaction: a retry whose key is taken writes nothing and records nothing again.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from cognitionos.audit.store import AuditLog, cancellation_reasons
from cognitionos.crypto import SubjectErased, SubjectKeyring
from cognitionos.dynamodb import all_items, plain
from cognitionos.errors import Conflict, Unprocessable
from privacy.logic.consents import IDEMPOTENCY_WINDOW_S, ConsentRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RECORDED = "privacy.consent.recorded"
PROOF_FIELD = "consent.proof"  # the field name the proof is sealed under (associated data)
IDEMPOTENCY_SK = "IDEMPOTENCY"
MAX_KEY_ATTEMPTS = 3  # a key whose item expired between our write and our read: try again


def consent_pk(customer_id: str) -> str:
    return f"CONSENT#{customer_id}"


def idempotency_pk(digest: str) -> str:
    return f"CONSENT_KEY#{digest}"


class Idempotency:
    """An ``Idempotency-Key`` as stored: its digest and the request's fingerprint."""

    def __init__(self, digest: str, fingerprint: str, now_s: int) -> None:
        self.digest = digest
        self.fingerprint = fingerprint
        self.now_s = now_s


class ConsentStore:
    def __init__(self, table: Table, keyring: SubjectKeyring, audit: AuditLog) -> None:
        self._table = table
        self._keyring = keyring
        self._audit = audit

    def record(
        self, record: ConsentRecord, *, actor: str, idempotency: Idempotency | None = None
    ) -> ConsentRecord:
        """Append ``record`` with its audit entry; with ``idempotency``, the record that key
        made before instead, if it made one (Unprocessable if for another request)."""
        for _ in range(MAX_KEY_ATTEMPTS):
            stored = self._item(record)
            items: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": stored,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
            if idempotency is not None:
                items.append({"Put": self._key_put(record, idempotency)})
            draft = self._audit.draft(
                RECORDED,
                actor=actor,
                resource=f"consent:{record.consent_id}",
                tenant_id=record.customer_id,
                details={
                    "consent_id": record.consent_id,
                    "purpose": record.purpose,
                    "granted": record.granted,
                    "notice_version": record.notice_version,
                    "method": record.method,
                },
            )
            try:
                refused = self._audit.commit_with(items, [draft])
            except ClientError as error:
                if any(r.get("Code") == "TransactionConflict" for r in cancellation_reasons(error)):
                    raise Conflict(
                        "a request with this Idempotency-Key is being recorded right now; "
                        "send it again in a moment"
                    ) from None
                raise
            if refused is None:
                sealed = record.proof is None or "proof_sealed" in stored
                return record if sealed else replace(record, proof=None)
            if idempotency is None or refused[0].get("Code") == "ConditionalCheckFailed":
                raise RuntimeError(f"consent id {record.consent_id} is taken")  # a uuid4 twice
            earlier = self._earlier(record.customer_id, idempotency)
            if earlier is not None:
                return earlier
        raise Conflict("the Idempotency-Key kept changing hands; send the request again")

    def history(self, customer_id: str) -> list[ConsentRecord]:
        """Every record of the subject, oldest first (sort key order); a sealed field of an
        erased subject reads as None."""
        items = all_items(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(consent_pk(customer_id)),
            ConsistentRead=True,
        )
        opener = _Opener(self._keyring, customer_id)
        return [self._record_of(item, opener) for item in items]

    def _item(self, record: ConsentRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": consent_pk(record.customer_id),
            "sk": record.sort_key,
            "kind": "consent",
            "consent_id": record.consent_id,
            "customer_id": record.customer_id,
            "purpose": record.purpose,
            "granted": record.granted,
            "notice_version": record.notice_version,
            "method": record.method,
            "time": record.time,
        }
        if record.proof is not None:
            # An erased subject's new record keeps the facts, never the free text.
            with contextlib.suppress(SubjectErased):
                item["proof_sealed"] = self._keyring.encrypt(
                    record.customer_id, PROOF_FIELD, record.proof
                )
        return item

    def _key_put(self, record: ConsentRecord, idempotency: Idempotency) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Item": {
                "pk": idempotency_pk(idempotency.digest),
                "sk": IDEMPOTENCY_SK,
                "customer_id": record.customer_id,
                "record_sk": record.sort_key,
                "fingerprint": idempotency.fingerprint,
                "expires_at": idempotency.now_s + IDEMPOTENCY_WINDOW_S,
            },
            # TTL deletes lazily: a key past its window is free again even if still stored.
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": idempotency.now_s},
        }

    def _earlier(self, customer_id: str, idempotency: Idempotency) -> ConsentRecord | None:
        """The record the key made before; None if its item has gone meanwhile."""
        key_item = self._table.get_item(
            Key={"pk": idempotency_pk(idempotency.digest), "sk": IDEMPOTENCY_SK},
            ConsistentRead=True,
        ).get("Item")
        if key_item is None:
            return None
        if key_item.get("fingerprint") != idempotency.fingerprint:
            raise Unprocessable(
                "this Idempotency-Key was used for a different request; use a new key for a "
                "new record"
            )
        found = self._table.get_item(
            Key={"pk": consent_pk(customer_id), "sk": str(key_item["record_sk"])},
            ConsistentRead=True,
        ).get("Item")
        if found is None:  # written in one transaction with its key: only an operator deletes
            raise RuntimeError("an Idempotency-Key points to a consent record that is gone")
        return self._record_of(plain(found))

    def _record_of(self, item: dict[str, Any], opener: _Opener | None = None) -> ConsentRecord:
        opener = opener or _Opener(self._keyring, str(item["customer_id"]))
        return ConsentRecord(
            consent_id=str(item["consent_id"]),
            customer_id=str(item["customer_id"]),
            purpose=str(item["purpose"]),
            granted=bool(item["granted"]),
            notice_version=str(item["notice_version"]),
            method=str(item["method"]),
            time=str(item["time"]),
            proof=opener.open(item.get("proof_sealed")),
        )


class _Opener:
    """Opens one subject's sealed fields; once the subject reads as erased, every field is
    None without asking the keyring again."""

    def __init__(self, keyring: SubjectKeyring, customer_id: str) -> None:
        self._keyring = keyring
        self._customer_id = customer_id
        self._erased = False

    def open(self, token: Any) -> str | None:
        if token is None or self._erased:
            return None
        try:
            return self._keyring.decrypt(self._customer_id, PROOF_FIELD, str(token))
        except SubjectErased:
            self._erased = True
            return None
