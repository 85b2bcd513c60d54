"""The operators table: operators by the blind index of their email, and each email hash's
failed sign-ins (``infra/topology.py``, OPERATORS_TABLE)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cognitionos.crypto import SubjectKeyring
from cognitionos.dynamodb import is_condition_failure
from cognitionos.sessions import OperatorSession
from operators.logic.lockout import Attempts, LockoutPolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OPERATOR_PREFIX = "OPERATOR#"
ATTEMPTS_PREFIX = "ATTEMPTS#"
EMAIL_FIELD = "email"
# A failure counter is forgotten a day after the last failure (TTL): any lock has long ended.
ATTEMPTS_KEPT_S = 24 * 3600


class OperatorExists(ValueError):
    """An operator with this email already exists."""


@dataclass(frozen=True)
class OperatorRecord:
    operator_id: str  # op_<16 hex>: also the subject of its sealed email
    email_index: str
    sealed_email: str
    password_hash: str  # the PHC string
    created_at: str


def new_operator_id() -> str:
    return f"op_{secrets.token_hex(8)}"


class OperatorDirectory:
    def __init__(self, table: Table, keyring: SubjectKeyring) -> None:
        self._table = table
        self._keyring = keyring

    def find(self, email_index: str) -> OperatorRecord | None:
        item = self._get(OPERATOR_PREFIX + email_index)
        if item is None:
            return None
        return OperatorRecord(
            operator_id=str(item["operator_id"]),
            email_index=email_index,
            sealed_email=str(item["email"]),
            password_hash=str(item["password_hash"]),
            created_at=str(item["created_at"]),
        )

    def email_of_session(self, session: OperatorSession) -> str:
        """The email a session was started for, unsealed with its operator's data key."""
        return self._keyring.decrypt(session.operator_id, EMAIL_FIELD, session.sealed_email)

    def create(
        self, email: str, email_index: str, password_hash: str, created_at: str
    ) -> OperatorRecord:
        """A new operator, its email sealed under its own data key; OperatorExists if the
        email is taken (nothing is written then)."""
        operator_id = new_operator_id()
        record = OperatorRecord(
            operator_id=operator_id,
            email_index=email_index,
            sealed_email=self._keyring.encrypt(operator_id, EMAIL_FIELD, email),
            password_hash=password_hash,
            created_at=created_at,
        )
        try:
            self._table.put_item(
                Item={
                    "pk": OPERATOR_PREFIX + email_index,
                    "operator_id": record.operator_id,
                    "email": record.sealed_email,
                    "password_hash": record.password_hash,
                    "created_at": record.created_at,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise OperatorExists("an operator with this email already exists") from None
            raise
        return record

    def replace_hash(self, record: OperatorRecord, new_hash: str) -> bool:
        """The rehash after a sign-in, unless the hash changed meanwhile (False then)."""
        try:
            self._table.update_item(
                Key={"pk": OPERATOR_PREFIX + record.email_index},
                UpdateExpression="SET password_hash = :new",
                ConditionExpression="password_hash = :old",
                ExpressionAttributeValues={":new": new_hash, ":old": record.password_hash},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def attempts(self, email_index: str) -> Attempts:
        item = self._get(ATTEMPTS_PREFIX + email_index)
        if item is None:
            return Attempts()
        return Attempts(
            failures=int(item.get("failures", 0)),
            locked_until=int(item.get("locked_until", 0)),
        )

    def record_failure(self, email_index: str, now: int, policy: LockoutPolicy) -> Attempts:
        """One more failure in a row (an atomic count), and the lock it earns, if any."""
        key = {"pk": ATTEMPTS_PREFIX + email_index}
        counted = self._table.update_item(
            Key=key,
            UpdateExpression="ADD failures :one SET last_failure_at = :now, expires_at = :expires",
            ExpressionAttributeValues={
                ":one": 1,
                ":now": now,
                ":expires": now + ATTEMPTS_KEPT_S,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        failures = int(counted["failures"])  # type: ignore[arg-type]
        lock = policy.lock_seconds(failures)
        if not lock:
            return Attempts(failures, int(counted.get("locked_until", 0)))  # type: ignore[arg-type]
        until = now + lock
        try:
            # Only the latest failure sets the lock: a concurrent later one sets a longer one.
            self._table.update_item(
                Key=key,
                UpdateExpression="SET locked_until = :until",
                ConditionExpression="failures = :n",
                ExpressionAttributeValues={":until": until, ":n": failures},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
        return Attempts(failures, until)

    def reset(self, email_index: str) -> None:
        """A successful sign-in: the failures in a row start again from zero."""
        self._table.delete_item(Key={"pk": ATTEMPTS_PREFIX + email_index})

    def _get(self, pk: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
