"""Claim checks: a Stripe event too large to queue waits in S3 and the queue carries a
reference to it. Pure rules and orchestration through doors; no AWS here.

Sizes are of the body's UTF-8 bytes, exactly as Stripe signed them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from billing.logic.envelope import envelope_from
from billing.models.events import ClaimCheck, EventStatus, StripeEventEnvelope
from cognitionos.errors import PayloadTooLarge

KIB = 1024
MIB = 1024 * KIB

# Lambda takes at most 6 MB (6,291,456 bytes) of event JSON per synchronous invocation. API
# Gateway hands a body it deems binary over base64 encoded, at 4/3 of its size, and a text
# one as a JSON string (Stripe's JSON grows by 10-14% escaped): a 4 MiB body reaches the
# function either way (5.33 MiB at worst, with room for headers and the rest of the event),
# so a larger one gets our 413 rather than an AWS error.
MAX_BODY_BYTES = 4 * MIB

# SQS takes a message of up to 1 MiB but bills every 64 KiB of it as a request, on the send
# and on each receive; and ten messages of up to 256 KiB (one batch) stay far inside Lambda's
# 6 MB event. At about this size one S3 put and get cost what the SQS chunks do.
PARK_ABOVE_BYTES = 256 * KIB

MAX_ERROR_LENGTH = 500

# Statuses after which the processor deleted the body: a claim check arriving then is a
# redelivery, and its missing body is expected.
FINISHED: frozenset[EventStatus] = frozenset({"processed", "ignored"})


class EventBodyMissing(LookupError):
    """The body of a claim check is not in the bucket (or not readable) and its event was
    never applied: nothing can apply it, so the message must go on to the DLQ."""


class EventBodyMismatch(ValueError):
    """The stored body is not the one the claim check was made for."""


class MessageSender(Protocol):
    def send(self, event: StripeEventEnvelope, raw_event: str) -> None: ...


class EventBodyWriter(Protocol):
    def put(self, key: str, data: bytes) -> None: ...


class EventBodyReader(Protocol):
    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when it is not there (or not readable)."""
        ...


class EventLogReader(Protocol):
    def status(self, event_id: str) -> EventStatus | None: ...

    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool: ...


def require_acceptable_size(size: int) -> None:
    """PayloadTooLarge (413) for a body over ``MAX_BODY_BYTES``; the message names the cap."""
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the request body is {size} bytes; a Stripe webhook may be at most "
            f"{MAX_BODY_BYTES} bytes (4 MiB)"
        )


def body_key(event_id: str) -> str:
    """Where a parked body lives: one object per event id (a retried put rewrites it)."""
    return f"stripe-events/{event_id}.json"


def claim_check_for(event: StripeEventEnvelope, data: bytes) -> ClaimCheck | None:
    """The claim check to queue instead of ``data``; None when the event is queued as it is."""
    if len(data) <= PARK_ABOVE_BYTES:
        return None
    return ClaimCheck(
        event_id=event.id,
        key=body_key(event.id),
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


class ClaimCheckingSender:
    """Sends a small event as it is; parks a large one first and sends its claim check.

    The put comes before the send, so a queued claim check always has its body; a failure
    between them leaves the event ``queued`` and Stripe's retry puts and sends again.
    """

    def __init__(self, queue: MessageSender, bodies: EventBodyWriter) -> None:
        self._queue = queue
        self._bodies = bodies

    def send(self, event: StripeEventEnvelope, raw_event: str) -> None:
        data = raw_event.encode("utf-8")
        claim = claim_check_for(event, data)
        if claim is None:
            self._queue.send(event, raw_event)
            return
        self._bodies.put(claim.key, data)
        self._queue.send(event, claim.model_dump_json())


def claimed_event(
    claim: ClaimCheck, bodies: EventBodyReader, log: EventLogReader
) -> StripeEventEnvelope | None:
    """The event a claim check stands for, checked against it; None for a redelivery whose
    event was applied and whose body was deleted. Any other missing or wrong body marks the
    event ``failed`` and raises, so the message is retried and then dead-lettered."""
    data = bodies.get(claim.key)
    problem: Exception
    if data is None:
        status = log.status(claim.event_id)
        if status in FINISHED:
            return None
        problem = EventBodyMissing(
            f"the body of {claim.event_id} is not in the event-bodies bucket at {claim.key} "
            f"(or is not readable), and the event is {status or 'not logged'}"
        )
    else:
        try:
            return _checked_event(claim, data)
        except EventBodyMismatch as exc:
            problem = exc
    log.mark(claim.event_id, "failed", f"{type(problem).__name__}: {problem}"[:MAX_ERROR_LENGTH])
    raise problem


def _checked_event(claim: ClaimCheck, data: bytes) -> StripeEventEnvelope:
    if len(data) != claim.bytes:
        raise EventBodyMismatch(
            f"the object at {claim.key} is {len(data)} bytes, not the {claim.bytes} bytes "
            f"parked for {claim.event_id}"
        )
    if hashlib.sha256(data).hexdigest() != claim.sha256:
        raise EventBodyMismatch(
            f"the object at {claim.key} is not the body parked for {claim.event_id} "
            "(its SHA-256 differs)"
        )
    event = envelope_from(json.loads(data))
    if event.id != claim.event_id:
        raise EventBodyMismatch(f"the object at {claim.key} holds {event.id}, not {claim.event_id}")
    return event
