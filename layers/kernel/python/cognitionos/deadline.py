"""The invocation's deadline: work that cannot finish before the function times out is not
started, so it fails on its own (back to its queue) instead of taking the batch down.

A handler runs its work inside the invocation's deadline; a door that makes slow calls
(Stripe) asks for the time a call may take before making it::

    with deadline.of_invocation(context):            # lambda_handler
        ...
    deadline.require(WORST_CALL_S, "a Stripe read")  # raises DeadlineNear if too late

Outside of one (a job run from a script, a test calling logic directly) there is none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

_ENDS_AT: ContextVar[float | None] = ContextVar("deadline_ends_at", default=None)


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class DeadlineNear(RuntimeError):
    """Too little of the invocation is left for this work; its trigger retries it."""


@contextmanager
def of_invocation(context: RemainingTime) -> Iterator[None]:
    token = _ENDS_AT.set(time.monotonic() + context.get_remaining_time_in_millis() / 1000)
    try:
        yield
    finally:
        _ENDS_AT.reset(token)


def remaining_s() -> float:
    ends_at = _ENDS_AT.get()
    return float("inf") if ends_at is None else ends_at - time.monotonic()


def require(seconds: float, what: str) -> None:
    left = remaining_s()
    if left < seconds:
        raise DeadlineNear(
            f"{left:.1f} s of the invocation left, {what} may take {seconds:.1f} s: retried later"
        )
