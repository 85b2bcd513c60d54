"""Operators' dashboard sessions, server side (docs/SECURITY.md, "Operator sign-in").

A session is a random 256-bit token in the ``__Host-cognitionos_session`` cookie; the
``operator-sessions`` table keeps only its SHA-256, the operator, a CSRF token and the
session's times. A session ends at sign-out (its item deleted), ``ABSOLUTE_LIFETIME_S``
after sign-in, or ``IDLE_TIMEOUT_S`` after its last request; both ends are checked on every
read, because DynamoDB's TTL deletes items up to days late.

Every API function reads sessions (``find``: one consistent GetItem, and an UpdateItem at
most once a minute to slide the idle end); only the sign-in function creates and ends them.
Nothing here imports a password hasher: API functions only look sessions up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from cognitionos.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# __Host-: the browser accepts it only with Secure, Path=/ and no Domain, so no subdomain
# and no plain-http page can plant or overwrite it.
SESSION_COOKIE = "__Host-cognitionos_session"
CSRF_HEADER = "x-csrf-token"
ABSOLUTE_LIFETIME_S = 8 * 3600
IDLE_TIMEOUT_S = 30 * 60
# The idle end moves with use, but at most once a minute: a busy dashboard is not a write
# per request.
SLIDE_EVERY_S = 60
TOKEN_BYTES = 32  # 256 bits, as OWASP's session cheat sheet asks at least 64
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_hash(token: str) -> str:
    """What the table keys a session by: a stolen table holds no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token and the header's."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def session_cookie(cookies: list[str] | None) -> str | None:
    """The session token among an API Gateway v2 event's ``cookies`` (``name=value`` each)."""
    for cookie in cookies or []:
        name, _, value = cookie.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None


@dataclass(frozen=True)
class OperatorSession:
    operator_id: str
    # The operator's email sealed under its own data key (cognitionos.crypto), for the
    # dashboard to show whom it is signed in as; never the plaintext.
    sealed_email: str
    csrf_token: str
    created_at: int  # Unix seconds
    last_seen_at: int
    expires_at: int  # the absolute end

    def ends_at(self) -> int:
        """When the session ends if unused: the idle end or the absolute one, the sooner."""
        return min(self.expires_at, self.last_seen_at + IDLE_TIMEOUT_S)

    def is_live(self, now: int) -> bool:
        return now < self.ends_at()


class SessionStore:
    """The ``operator-sessions`` table (partition key ``session_hash``, TTL ``expires_at``)."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def create(self, operator_id: str, sealed_email: str) -> tuple[str, OperatorSession]:
        """A new session: the cookie's token (shown once, never stored) and the session."""
        now = int(self._clock())
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = OperatorSession(
            operator_id=operator_id,
            sealed_email=sealed_email,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_LIFETIME_S,
        )
        self._table.put_item(
            Item={
                "session_hash": token_hash(token),
                "operator_id": session.operator_id,
                "sealed_email": session.sealed_email,
                "csrf_token": session.csrf_token,
                "created_at": session.created_at,
                "last_seen_at": session.last_seen_at,
                "expires_at": session.expires_at,
            },
            ConditionExpression="attribute_not_exists(session_hash)",
        )
        return token, session

    def find(self, token: str) -> OperatorSession | None:
        """The live session of ``token``, its idle end moved on; None if there is none, or
        it ended (signed out, too old, idle too long)."""
        key = {"session_hash": token_hash(token)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return None
        session = OperatorSession(
            operator_id=str(item["operator_id"]),
            sealed_email=str(item["sealed_email"]),
            csrf_token=str(item["csrf_token"]),
            created_at=int(item["created_at"]),  # type: ignore[arg-type]
            last_seen_at=int(item["last_seen_at"]),  # type: ignore[arg-type]
            expires_at=int(item["expires_at"]),  # type: ignore[arg-type]
        )
        now = int(self._clock())
        if not session.is_live(now):
            return None
        if now - session.last_seen_at >= SLIDE_EVERY_S:
            session = self._slide(key, session, now)
        return session

    def end(self, token: str) -> None:
        """Sign-out: the session's item deleted, so its cookie is refused at once."""
        self._table.delete_item(Key={"session_hash": token_hash(token)})

    def _slide(self, key: dict[str, str], session: OperatorSession, now: int) -> OperatorSession:
        try:
            # Only while the item exists: a sign-out racing this must not bring it back.
            self._table.update_item(
                Key=key,
                UpdateExpression="SET last_seen_at = :now",
                ConditionExpression="attribute_exists(session_hash)",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
        return dataclasses.replace(session, last_seen_at=now)
