"""Catching up on Stripe events whose webhook delivery failed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from billing.logic.intake import EventLogWriter, EventSender, accept_event
from billing.logic.webhook import envelope_from

# Stripe keeps events for 30 days; a first sweep looks back that far.
FIRST_SWEEP_LOOKBACK_S = 30 * 24 * 3600
# Re-read a little before the last sweep: an event's delivery can fail after it was listed.
SWEEP_OVERLAP_S = 3600


@dataclass(frozen=True)
class SweepSummary:
    since: int
    checked: int
    new: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sweep_start(last_swept: int | None, now: int) -> int:
    if last_swept is None:
        return now - FIRST_SWEEP_LOOKBACK_S
    return max(last_swept - SWEEP_OVERLAP_S, now - FIRST_SWEEP_LOOKBACK_S)


def requeue_undelivered(
    events: Iterable[dict[str, Any]],
    since: int,
    now: int,
    log: EventLogWriter,
    queue: EventSender,
) -> SweepSummary:
    """Log and queue each event the webhook never delivered (or left unapplied)."""
    checked = new = 0
    for raw in events:
        event = envelope_from(raw)
        checked += 1
        if not accept_event(event, json.dumps(raw, separators=(",", ":")), now, log, queue):
            new += 1
    return SweepSummary(since=since, checked=checked, new=new)
