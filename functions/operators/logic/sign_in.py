"""Signing in, out, and reading the session: the rules, with the stores passed in.

An unknown email and a wrong password get the same answer after the same work: the password
is verified against the operator's hash or, for an unknown email, against a dummy hash with
the same parameters; then the email hash's failure is counted and audited either way. A
locked email (known or not) is refused before any hash is computed; as those refusals cost
an attacker nothing, they are audited at most once a minute per email hash in an execution
environment, each entry counting the refusals since the last (``cognitionos.audit.windows``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cognitionos.audit.windows import RejectionWindows
from cognitionos.errors import Forbidden, TooManyRequests, Unauthorized
from cognitionos.sessions import OperatorSession, csrf_matches
from operators.logic.emails import normal_email
from operators.logic.lockout import Attempts, LockoutPolicy
from operators.logic.passwords import default_hasher, dummy_hash, needs_rehash, verify_password

WRONG_CREDENTIALS = "the email or password is wrong"
SESSION_ENDED = "no live dashboard session: sign in"


class Directory(Protocol):
    def find(self, email_index: str) -> Any: ...

    def attempts(self, email_index: str) -> Attempts: ...

    def record_failure(self, email_index: str, now: int, policy: LockoutPolicy) -> Attempts: ...

    def reset(self, email_index: str) -> None: ...

    def replace_hash(self, record: Any, new_hash: str) -> bool: ...


class Sessions(Protocol):
    def create(self, operator_id: str, sealed_email: str) -> tuple[str, OperatorSession]: ...

    def find(self, token: str) -> OperatorSession | None: ...

    def end(self, token: str) -> None: ...


class Audit(Protocol):
    def record(
        self,
        action: str,
        *,
        actor: str,
        resource: str,
        tenant_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SignedIn:
    operator_id: str
    email: str
    token: str  # for the cookie only
    session: OperatorSession


class SignInFlow:
    def __init__(
        self,
        *,
        directory: Directory,
        sessions: Sessions,
        audit: Audit,
        email_index: Callable[[str], str],
        policy: LockoutPolicy,
        clock: Callable[[], float],
    ) -> None:
        self._directory = directory
        self._sessions = sessions
        self._audit = audit
        self._email_index = email_index
        self._policy = policy
        self._clock = clock
        self._locked_refusals = RejectionWindows()

    def sign_in(self, email: str, password: str) -> SignedIn:
        """A new session; Unauthorized (wrong or unknown), TooManyRequests (locked)."""
        try:
            normal = normal_email(email)
        except ValueError:
            raise Unauthorized(WRONG_CREDENTIALS) from None
        index = self._email_index(normal)
        now = int(self._clock())
        attempts = self._directory.attempts(index)
        if attempts.retry_after(now):
            self._locked(index, attempts.failures, now)
            raise TooManyRequests(
                f"too many failed sign-ins for this email; try again in "
                f"{attempts.retry_after(now)} s",
                attempts.retry_after(now),
            )
        record = self._directory.find(index)
        matched = verify_password(record.password_hash if record else dummy_hash(), password)
        if record is None or not matched:
            after = self._directory.record_failure(index, now, self._policy)
            reason = "unknown_email" if record is None else "wrong_password"
            self._failed(record, index, reason, after.failures)
            raise Unauthorized(WRONG_CREDENTIALS)
        if attempts.failures:
            self._directory.reset(index)
        if needs_rehash(record.password_hash):
            # The parameters rose since this hash was made: the password is at hand now.
            self._directory.replace_hash(record, default_hasher().hash(password))
        token, session = self._sessions.create(record.operator_id, record.sealed_email)
        self._audit.record(
            "operator.signed_in",
            actor=record.operator_id,
            resource=f"operator:{record.operator_id}",
            tenant_id=None,
            details={"session_expires_at": session.expires_at},
        )
        return SignedIn(record.operator_id, normal, token, session)

    def current(self, token: str | None) -> OperatorSession:
        session = self._sessions.find(token) if token else None
        if session is None:
            raise Unauthorized(SESSION_ENDED)
        return session

    def sign_out(self, token: str | None, csrf_token: str | None) -> OperatorSession:
        """Ends the session of ``token``: it needs the session's CSRF token (Forbidden)."""
        session = self.current(token)
        if not csrf_matches(session.csrf_token, csrf_token):
            raise Forbidden("sign-out needs the session's CSRF token in the X-CSRF-Token header")
        self._sessions.end(str(token))
        self._audit.record(
            "operator.signed_out",
            actor=session.operator_id,
            resource=f"operator:{session.operator_id}",
            tenant_id=None,
            details={},
        )
        return session

    def _locked(self, index: str, failures: int, now: int) -> None:
        report = self._locked_refusals.refused(index, now)
        if report is None:
            return  # counted: the next entry for this email hash carries it
        try:
            self._failed(None, index, "locked", failures, refusals=report.count)
        except Exception:
            self._locked_refusals.failed(report, now)  # tried again a window later
            raise
        self._locked_refusals.written(report, now)

    def _failed(
        self, record: Any, index: str, reason: str, failures: int, refusals: int | None = None
    ) -> None:
        # An unknown email has no operator: the actor is its hash (a keyed HMAC, no email).
        actor = record.operator_id if record is not None else f"email_hash:{index}"
        self._audit.record(
            "operator.sign_in_failed",
            actor=actor,
            resource=f"operator:{actor}",
            tenant_id=None,
            # A locked email's entry also counts the refusals it stands for.
            details={"reason": reason, "failures": failures}
            | ({} if refusals is None else {"refusals": refusals}),
        )
