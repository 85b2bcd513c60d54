"""Applying one queued Stripe event: state change or ``ignored``, recorded exactly once."""

from __future__ import annotations

from typing import Literal, Protocol

from billing.logic.state import ApplyOutcome, StateChange, state_change
from billing.models.events import EventStatus, StripeEventEnvelope

Outcome = Literal["applied", "stale", "duplicate", "ignored"]
MAX_ERROR_LENGTH = 500


class EventStatusWriter(Protocol):
    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool: ...


class StateWriter(Protocol):
    def apply(self, change: StateChange, event_id: str) -> ApplyOutcome: ...


def apply_event(event: StripeEventEnvelope, log: EventStatusWriter, state: StateWriter) -> Outcome:
    """Apply ``event`` once. A failure is recorded on the event, then re-raised so the
    message returns to the queue (and, after its last receive, to the DLQ)."""
    try:
        change = state_change(event)
        if change is None:
            log.mark(event.id, "ignored")
            return "ignored"
        outcome = state.apply(change, event.id)
    except Exception as exc:
        log.mark(event.id, "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
        raise
    return outcome
