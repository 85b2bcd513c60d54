"""Applying one queued Stripe event: decide what it changes, then commit it once.

Decisions are pure; reads and the one atomic commit go through the ``BillingStore`` door.
Plain objects (customers, invoices, charges...) keep their newest version. Subscriptions
and discounts also keep every version in their customer's history, from which the MRR
change records are derived again (logic/movements.py), so a late event corrects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from billing.logic.history import CustomerHistory
from billing.logic.movements import MrrChange, mrr_changes
from billing.logic.state import (
    HISTORY_KINDS,
    REFETCHABLE,
    Kind,
    RefetchableKind,
    StateChange,
    change_from_object,
    state_change,
)
from billing.logic.versions import is_tie
from billing.models.events import EventStatus, StripeEventEnvelope
from cognitionos.errors import Conflict

Outcome = Literal["applied", "stale", "duplicate", "ignored"]
CommitResult = Literal["committed", "duplicate", "state_moved"]
MAX_ERROR_LENGTH = 500


@dataclass
class CommitPlan:
    """Everything one event writes, in one transaction with its ``processed`` status."""

    event_id: str
    state: StateChange | None = None  # the object's new newest version
    state_guard: str | None = None  # the version the stored state must still have
    versions: list[StateChange] = field(default_factory=list)  # history entries to add
    record_puts: list[MrrChange] = field(default_factory=list)
    record_voids: list[MrrChange] = field(default_factory=list)  # stored, no longer true


class EventStatusWriter(Protocol):
    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool: ...


class BillingStore(Protocol):
    def stored_version(self, kind: Kind, object_id: str) -> str | None: ...

    def history(self, customer_id: str) -> CustomerHistory: ...

    def commit(self, plan: CommitPlan) -> CommitResult:
        """Nothing is written unless ``"committed"``."""
        ...

    def mark_processed(self, event_id: str) -> bool: ...


class StripeReader(Protocol):
    def retrieve(self, kind: RefetchableKind, object_id: str) -> dict[str, Any] | None:
        """Stripe's current object; None when no API key is configured."""
        ...


class FollowUp(Protocol):
    """A side effect (e.g. dunning) run after every delivery of an event, even a duplicate:
    it must be idempotent itself, so a crash after the commit never loses it."""

    def __call__(
        self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome
    ) -> None: ...


def apply_event(
    event: StripeEventEnvelope,
    log: EventStatusWriter,
    store: BillingStore,
    stripe: StripeReader | None = None,
    follow_ups: Sequence[FollowUp] = (),
) -> Outcome:
    """Apply ``event`` once. A failure is recorded on the event, then re-raised so the
    message returns to the queue (and, after its last receive, to the DLQ)."""
    try:
        change = state_change(event)
        if change is None:
            log.mark(event.id, "ignored")
            return "ignored"
        if change.kind in HISTORY_KINDS and change.customer_id:
            outcome = _apply_with_history(event, change, change.customer_id, store, stripe)
        else:
            outcome = _apply_latest(event, change, store, stripe)
        for follow_up in follow_ups:
            follow_up(event, change, outcome)
    except Exception as exc:
        log.mark(event.id, "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
        raise
    return outcome


def _apply_latest(
    event: StripeEventEnvelope,
    change: StateChange,
    store: BillingStore,
    stripe: StripeReader | None,
) -> Outcome:
    stored = store.stored_version(change.kind, change.object_id)
    if stored == change.version:  # the same content again, maybe under another event id
        store.mark_processed(event.id)
        return "duplicate"
    if stored is not None and stripe is not None and is_tie(stored, change.version):
        change = _refetched(change, event.type, stripe) or change
        if stored == change.version:
            store.mark_processed(event.id)
            return "duplicate"
    if stored is not None and change.version < stored:
        return "stale" if store.mark_processed(event.id) else "duplicate"
    return _commit(store, CommitPlan(event.id, state=change, state_guard=stored))


def _apply_with_history(
    event: StripeEventEnvelope,
    change: StateChange,
    customer_id: str,
    store: BillingStore,
    stripe: StripeReader | None,
) -> Outcome:
    history = store.history(customer_id)
    known = history.versions_of(change.kind, change.object_id)
    if change.version in known:
        store.mark_processed(event.id)
        return "duplicate"
    new = [change]
    newest_known = max(known, default=None)
    # Only a tie in the newest second is re-fetched: Stripe's current object is then the
    # truth for that second. A tie further back keeps the precedence order.
    if stripe is not None and newest_known is not None and is_tie(newest_known, change.version):
        refetched = _refetched(change, event.type, stripe)
        if refetched is not None and refetched.version not in known:
            new.append(refetched)
    updated = history.with_versions(new)
    records = mrr_changes(customer_id, updated.subscription_versions(), updated.discount_versions())
    puts, voids = history.record_diff(records)
    winner = max(new, key=lambda c: c.version)
    newer = newest_known is None or winner.version > newest_known
    plan = CommitPlan(
        event.id,
        state=winner if newer else None,
        state_guard=newest_known if newer else None,
        versions=[c for c in new if c.version not in known],
        record_puts=puts,
        record_voids=voids,
    )
    return _commit(store, plan)


def _commit(store: BillingStore, plan: CommitPlan) -> Outcome:
    """Commit; if the stored state moved (say, written before histories were kept), decide
    again against what is stored now, once."""
    result = store.commit(plan)
    if result == "state_moved" and plan.state is not None:
        stored = store.stored_version(plan.state.kind, plan.state.object_id)
        newer = stored is None or plan.state.version > stored
        plan = replace(plan, state=plan.state if newer else None, state_guard=stored)
        result = store.commit(plan)
    if result == "state_moved":
        raise Conflict("the stored state changed while this event was applied; it is retried")
    if result == "duplicate":
        return "duplicate"
    return "applied" if plan.state is not None else "stale"


def _refetched(change: StateChange, event_type: str, stripe: StripeReader) -> StateChange | None:
    """Stripe's current object, standing for the version at the tied second; None when it
    cannot be read (no API key, or a kind Stripe's API cannot retrieve by id here)."""
    if change.kind not in REFETCHABLE:
        return None
    current = stripe.retrieve(change.kind, change.object_id)  # type: ignore[arg-type]
    if current is None:
        return None
    return change_from_object(change.kind, current, change.created, event_type, refetched=True)
