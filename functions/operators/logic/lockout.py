"""Lockout with backoff after failed sign-ins, per email hash (OWASP's authentication sheet).

After ``threshold`` failures in a row the email is locked for ``base_s``; each further
failure doubles the lock, up to ``cap_s``. A successful sign-in resets the count. The
counter is kept per email hash whether or not an operator has that email, so a locked
unknown email answers exactly as a locked operator does.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD = 5
BASE_LOCK_S = 30
MAX_LOCK_S = 15 * 60


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = DEFAULT_THRESHOLD
    base_s: int = BASE_LOCK_S
    cap_s: int = MAX_LOCK_S

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.base_s < 1 or self.cap_s < self.base_s:
            raise ValueError("a lockout needs threshold >= 1 and 1 <= base_s <= cap_s")

    def lock_seconds(self, failures: int) -> int:
        """How long the email is locked after its ``failures``-th failure in a row."""
        if failures < self.threshold:
            return 0
        extra = failures - self.threshold
        if extra >= self.cap_s.bit_length():  # 2**extra alone already passes the cap
            return self.cap_s
        return min(self.cap_s, self.base_s << extra)


@dataclass(frozen=True)
class Attempts:
    """An email's failed sign-ins in a row, and until when (Unix seconds) it is locked."""

    failures: int = 0
    locked_until: int = 0

    def retry_after(self, now: int) -> int:
        """Seconds until the email may try again; 0 if it may now."""
        return max(0, self.locked_until - now)
