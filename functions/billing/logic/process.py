"""Applying one queued Stripe event: decide what it changes, then commit it once.

Decisions are pure; reads and the one atomic commit go through the ``BillingStore`` door.
Plain objects (customers, invoices, charges, coupons...) keep their newest version.
Subscriptions and discounts also keep every version in their customer's history, from
which the customer's MRR change records are derived again (logic/movements.py), so a late
event, or a coupon whose terms arrive after its discount, corrects them.

Two versions of one object in one second are a tie: with a Stripe key, the object is
re-fetched and the tied version its current state agrees with wins (``choose_between``);
without one, the status precedence decides. The re-fetched object only chooses; it is never
stored as a version, since it may describe a moment days after the tied second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from billing.logic.coupons import CouponBook, CouponTerms
from billing.logic.history import CustomerHistory, HistoryEntry, TieKey
from billing.logic.movements import MrrChange
from billing.logic.state import (
    HISTORY_KINDS,
    REFETCHED_ON_TIE,
    Kind,
    ObjectVersion,
    RefetchableKind,
    StateChange,
    change_from_object,
    state_change,
)
from billing.logic.versions import choose_between, is_tie
from billing.models.events import EventStatus, StripeEventEnvelope
from cognitionos.errors import Conflict

Outcome = Literal["applied", "stale", "duplicate", "ignored"]
# "state_moved": the stored state is not the version the plan was decided against;
# "coupon_arrived": a coupon the plan priced as unknown was stored meanwhile.
CommitResult = Literal["committed", "duplicate", "state_moved", "coupon_arrived"]
MAX_ERROR_LENGTH = 500
MAX_COMMIT_ATTEMPTS = 3


@dataclass
class CommitPlan:
    """Everything one event (or one re-derivation) writes, in one transaction with the
    event's ``processed`` status."""

    event_id: str | None  # None: a re-derivation of a customer's records, no event
    customer_id: str | None = None
    state: ObjectVersion | None = None  # the object's new current version
    state_guard: str | None = None  # the version the stored state must still have
    versions: list[StateChange] = field(default_factory=list)  # history entries to add
    records: tuple[MrrChange, ...] = ()  # the customer's whole record set, as derived
    records_changed: bool = False
    tie: tuple[TieKey, str] | None = None  # a re-fetch's choice among a second's versions
    awaiting: frozenset[str] = frozenset()  # coupons priced as unknown: must still be absent
    previously_awaiting: frozenset[str] = frozenset()

    @property
    def writes_records(self) -> bool:
        """The record set item is rewritten: new records, or new coupons awaited."""
        return self.records_changed or self.awaiting != self.previously_awaiting


class EventStatusWriter(Protocol):
    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool: ...

    def mark_follow_up_failed(self, event_id: str, error: str) -> None: ...


class BillingStore(Protocol):
    def stored_version(self, kind: Kind, object_id: str) -> str | None: ...

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None: ...

    def history(self, customer_id: str) -> CustomerHistory: ...

    def commit(self, plan: CommitPlan) -> CommitResult:
        """Nothing is written unless ``"committed"``."""
        ...

    def mark_processed(self, event_id: str) -> bool: ...


class StripeReader(Protocol):
    def retrieve(
        self, kind: RefetchableKind, object_id: str, api_version: str | None
    ) -> dict[str, Any] | None:
        """Stripe's current object in ``api_version``'s shape; None when no API key is
        configured or Stripe has no such object."""
        ...


class CouponCatalog(Protocol):
    def terms(self, coupon_ids: set[str], api_version: str | None) -> dict[str, CouponTerms]:
        """The known terms of these coupons: stored ones, else read once from Stripe (and
        stored) when a key is configured. Unknown ones are absent."""
        ...


class FollowUp(Protocol):
    """A side effect (e.g. dunning) run after every delivery of an event, even a duplicate:
    it must be idempotent itself, so a crash after the commit never loses it."""

    def __call__(
        self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome
    ) -> None: ...


@dataclass(frozen=True)
class Sources:
    """Where the processor may look beyond the event: Stripe (ties) and coupons."""

    stripe: StripeReader | None = None
    coupons: CouponCatalog | None = None

    def coupon_book(self, history: CustomerHistory, api_version: str | None) -> CouponBook:
        needed = history.coupon_ids()
        if not needed or self.coupons is None:
            return {}
        return self.coupons.terms(needed, api_version)


def apply_event(
    event: StripeEventEnvelope,
    log: EventStatusWriter,
    store: BillingStore,
    sources: Sources = Sources(),
    follow_ups: Sequence[FollowUp] = (),
) -> Outcome:
    """Apply ``event`` once, then its follow-ups. A failure is recorded on the event, then
    re-raised so the message returns to the queue (and, after its last receive, to the DLQ):
    a follow-up's failure too, although the event's state was committed before it."""
    try:
        change = state_change(event)
        if change is None:
            log.mark(event.id, "ignored")
            return "ignored"
        if change.kind in HISTORY_KINDS and change.customer_id:
            outcome = _apply_with_history(event, change, change.customer_id, store, sources)
        else:
            outcome = _apply_latest(event, change, store, sources.stripe)
    except Exception as exc:
        log.mark(event.id, "failed", _error_text(exc))
        raise
    for follow_up in follow_ups:
        try:
            follow_up(event, change, outcome)
        except Exception as exc:
            log.mark_follow_up_failed(
                event.id,
                _error_text(exc, "follow-up failed after billing state was applied; retried: "),
            )
            raise
    return outcome


def rederive_customer(customer_id: str, store: BillingStore, sources: Sources) -> bool:
    """Derive the customer's records again (a coupon it waited for is now known); True if
    anything was written."""
    for _ in range(MAX_COMMIT_ATTEMPTS):
        plan = _history_plan(None, store.history(customer_id), None, sources)
        if not plan.writes_records:
            return False
        if store.commit(plan) == "committed":
            return True
    raise Conflict(f"customer {customer_id}'s history kept changing; it is retried")


def _error_text(exc: Exception, prefix: str = "") -> str:
    return f"{prefix}{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]


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
    if stored is not None and is_tie(stored, change.version):
        later = _later_state(change, event, stripe)
        current = store.get(change.kind, change.object_id) if later is not None else None
        if later is not None and current is not None:
            candidates = [(stored, current), (change.version, change.attributes)]
            if choose_between(candidates, later) == stored:
                return "stale" if store.mark_processed(event.id) else "duplicate"
            return _commit(store, _latest_plan(event.id, change, stored))
    if stored is not None and change.version < stored:
        return "stale" if store.mark_processed(event.id) else "duplicate"
    return _commit(store, _latest_plan(event.id, change, stored))


def _latest_plan(event_id: str, change: StateChange, guard: str | None) -> CommitPlan:
    return CommitPlan(event_id, state=change.as_stored(), state_guard=guard)


def _commit(store: BillingStore, plan: CommitPlan) -> Outcome:
    """Commit; if the stored state moved meanwhile, decide again against it, once."""
    result = store.commit(plan)
    if result == "state_moved" and plan.state is not None:
        stored = store.stored_version(plan.state.kind, plan.state.object_id)
        newer = stored is None or plan.state.version > stored
        plan = replace(plan, state=plan.state if newer else None, state_guard=stored)
        result = store.commit(plan)
    if result in ("state_moved", "coupon_arrived"):
        raise Conflict("the stored state changed while this event was applied; it is retried")
    if result == "duplicate":
        return "duplicate"
    return "applied" if plan.state is not None else "stale"


def _apply_with_history(
    event: StripeEventEnvelope,
    change: StateChange,
    customer_id: str,
    store: BillingStore,
    sources: Sources,
) -> Outcome:
    """Add the version to the customer's history and derive its records again. The current
    state follows the history (its newest second, Stripe's choice within it), so a commit
    that finds the stored state elsewhere (written before histories were kept, say) puts it
    right against what is stored, on the next attempt."""
    guard_from_store = False
    for _ in range(MAX_COMMIT_ATTEMPTS):
        history = store.history(customer_id)
        if change.version in history.versions_of(change.kind, change.object_id):
            store.mark_processed(event.id)
            return "duplicate"
        plan = _history_plan(event, history, change, sources)
        if guard_from_store and plan.state is not None:
            plan.state_guard = store.stored_version(change.kind, change.object_id)
        result = store.commit(plan)
        if result == "duplicate":
            return "duplicate"
        if result == "committed":
            return "applied" if plan.state is not None else "stale"
        guard_from_store = result == "state_moved"
    raise Conflict("the stored state changed while this event was applied; it is retried")


def _history_plan(
    event: StripeEventEnvelope | None,
    history: CustomerHistory,
    new: StateChange | None,
    sources: Sources,
) -> CommitPlan:
    """What adding ``new`` (None: nothing, a re-derivation) to ``history`` writes."""
    updated = history.with_versions([new] if new else [])
    tie = _settle_tie(updated, new, event, sources.stripe) if new and event else None
    if tie is not None:
        updated = updated.with_tie(*tie)
    api_version = event.api_version if event else None
    derivation = updated.derive(sources.coupon_book(updated, api_version))
    before = _current(history, new)
    after = _current(updated, new)
    moved = after is not None and (before is None or before.version != after.version)
    return CommitPlan(
        event.id if event else None,
        customer_id=history.customer_id,
        state=after if moved else None,
        state_guard=before.version if moved and before else None,
        versions=[new] if new else [],
        records=derivation.records,
        records_changed=derivation.records != history.records,
        tie=tie if tie is not None and history.ties.get(tie[0]) != tie[1] else None,
        awaiting=derivation.unknown_coupons,
        previously_awaiting=history.awaiting_coupons,
    )


def _current(history: CustomerHistory, change: StateChange | None) -> ObjectVersion | None:
    if change is None:
        return None
    entry = history.newest(change.kind, change.object_id)
    return _stored(entry, history.customer_id) if entry is not None else None


def _stored(entry: HistoryEntry, customer_id: str) -> ObjectVersion:
    return ObjectVersion(
        entry.kind,  # type: ignore[arg-type]
        entry.object_id,
        customer_id,
        entry.version,
        entry.created,
        entry.attributes,
    )


def _settle_tie(
    history: CustomerHistory,
    change: StateChange,
    event: StripeEventEnvelope,
    stripe: StripeReader | None,
) -> tuple[TieKey, str] | None:
    """Stripe's choice among the versions of ``change``'s second, when it has company."""
    tied = history.same_second(change.kind, change.object_id, change.created)
    if len(tied) < 2:
        return None
    later = _later_state(change, event, stripe)
    if later is None:
        return None
    winner = choose_between(((e.version, e.attributes) for e in tied), later)
    return (change.kind, change.object_id, change.created), winner


def _later_state(
    change: StateChange, event: StripeEventEnvelope, stripe: StripeReader | None
) -> dict[str, Any] | None:
    """Stripe's current object in billing's terms, read in the event's API version; None
    without a key, for a kind not re-fetched, or an object Stripe no longer has."""
    if stripe is None or change.kind not in REFETCHED_ON_TIE:
        return None
    current = stripe.retrieve(change.kind, change.object_id, event.api_version)  # type: ignore[arg-type]
    if current is None:
        return None
    return change_from_object(change.kind, current, change.created, event.type).attributes
