"""Accepting a verified Stripe event: log it once, queue it until it is applied.

The order matters: the log write comes first, so a send that fails after it leaves the event
``queued`` and Stripe's retry (or the reconcile job) sends it again; nothing is lost. The
sender may park a large event in S3 and queue a claim check instead (logic/claim_checks.py).
"""

from __future__ import annotations

from typing import Protocol

from billing.logic.envelope import should_enqueue
from billing.models.events import EventStatus, StripeEventEnvelope


class EventLogWriter(Protocol):
    def record_once(self, event: StripeEventEnvelope, received_at: int) -> EventStatus | None: ...


class EventSender(Protocol):
    def send(self, event: StripeEventEnvelope, raw_event: str) -> None: ...


def accept_event(
    event: StripeEventEnvelope,
    raw_event: str,
    received_at: int,
    log: EventLogWriter,
    queue: EventSender,
) -> bool:
    """Log and queue ``event``; True when its id was logged before (a duplicate delivery)."""
    previous = log.record_once(event, received_at)
    if should_enqueue(previous):
        queue.send(event, raw_event)
    return previous is not None
