"""Reconciling with Stripe: catching up on events whose webhook delivery failed, and the
nightly comparison of stored subscriptions with Stripe's list. Pure, no AWS."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from billing.logic.envelope import envelope_from
from billing.logic.intake import EventLogWriter, EventSender, accept_event
from billing.logic.state import subscription_state
from billing.logic.versions import content_hash

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


# --- nightly comparison of stored subscriptions with Stripe's list ---------------------------

COMPARISON_INTERVAL_S = 24 * 3600
# An hourly schedule starts seconds early or late; without slack, a run a little early would
# push the comparison an hour later every day.
COMPARISON_SLACK_S = 10 * 60
REPAIR_EVENT_TYPE = "customer.subscription.updated"

DriftReason = Literal["missing", "different"]


@dataclass(frozen=True)
class Drift:
    """A subscription whose stored state is not Stripe's, and the event that repairs it."""

    subscription_id: str
    customer_id: str | None
    reason: DriftReason  # "missing": never stored; "different": see ``fields``
    fields: tuple[str, ...]  # names only, never values
    event_id: str


class RepairRecorder(Protocol):
    def record(self, drift: Drift, at: int) -> None: ...


@dataclass(frozen=True)
class ComparisonSummary:
    compared: int  # subscriptions in Stripe's list
    repaired: int  # repair events logged and queued by this run
    repair_already_logged: int  # drifted, but an earlier run logged this same repair
    newer_locally: int  # stored from an event at or after this run began: left alone
    not_in_stripe: tuple[str, ...]  # stored ids absent from Stripe's list: reported only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"not_in_stripe": len(self.not_in_stripe)}


def next_comparison_at(last_compared: int | None, now: int, on_demand: bool) -> int | None:
    """When the comparison is next due, or None when it is due now: asked for, never run,
    or a day (less the slack) since the last one began."""
    if on_demand or last_compared is None:
        return None
    due = last_compared + COMPARISON_INTERVAL_S - COMPARISON_SLACK_S
    return None if now >= due else due


# Fields that say one thing in two API versions' shapes, compared through another: expanded
# discounts through ``discount_ids``; an item's billing period (on the item from basil on,
# on the subscription before) through the subscription's ``current_period_end``.
SHAPE_ONLY_FIELDS = frozenset({"discounts"})
SHAPE_ONLY_ITEM_FIELDS = frozenset({"current_period_start", "current_period_end"})


def differing_fields(expected: dict[str, Any], stored: dict[str, Any]) -> tuple[str, ...]:
    """The ``subscription_state`` fields whose stored value is not Stripe's, sorted; a
    difference of shape alone (one API version's against another's) is none.

    A field of an item is named ``items.<field>``; ``items`` alone means the set of items
    differs (one added, removed or replaced).
    """
    names: set[str] = set()
    for key, value in expected.items():
        if key in SHAPE_ONLY_FIELDS:
            continue
        if key == "items":
            names |= _item_differences(value, stored.get(key))
        elif stored.get(key) != value:
            names.add(key)
    return tuple(sorted(names))


def _item_differences(expected: list[dict[str, Any]], stored: Any) -> set[str]:
    if not isinstance(stored, list) or len(stored) != len(expected):
        return {"items"}
    stored_by_id = {item.get("id"): item for item in stored if isinstance(item, dict)}
    if set(stored_by_id) != {item["id"] for item in expected}:
        return {"items"}
    return {
        f"items.{key}"
        for item in expected
        for key, value in item.items()
        if key not in SHAPE_ONLY_ITEM_FIELDS and stored_by_id[item["id"]].get(key) != value
    }


def repair_event(
    subscription: dict[str, Any], state: dict[str, Any], now: int, api_version: str | None
) -> dict[str, Any]:
    """A synthetic ``customer.subscription.updated`` carrying Stripe's current object, read
    in ``api_version`` (the webhook endpoint's, so it has the shape of the stored state).

    Its id is a hash of the subscription id and the state it sets, so comparing again before
    it is applied finds the same logged event (and records no second repair). ``created`` is
    when the comparison began, before Stripe's list was read: a real event about a later
    change is newer and wins.
    """
    digest = content_hash([subscription["id"], state])[:32]
    return {
        "id": f"evt_repair_{digest}",
        "object": "event",
        "type": REPAIR_EVENT_TYPE,
        "created": now,
        "livemode": bool(subscription.get("livemode", False)),
        "api_version": api_version,
        "data": {"object": subscription},
    }


def compare_subscriptions(
    in_stripe: Iterable[dict[str, Any]],
    stored: Mapping[str, dict[str, Any]],
    now: int,
    *,
    log: EventLogWriter,
    queue: EventSender,
    repairs: RepairRecorder,
    api_version: str | None = None,
) -> ComparisonSummary:
    """Queue a repair event for each subscription whose stored state is not Stripe's.

    The processor applies a repair like any event; ``now`` is when this run began and
    ``api_version`` the version Stripe's list was read in.
    """
    compared = repaired = already_logged = newer_locally = 0
    seen: set[str] = set()
    for subscription in in_stripe:
        compared += 1
        seen.add(subscription["id"])
        current = stored.get(subscription["id"])
        if current is not None and int(current.get("created") or 0) >= now:
            newer_locally += 1
            continue
        expected = subscription_state(subscription)
        fields = differing_fields(expected, current) if current is not None else ()
        if current is not None and not fields:
            continue
        raw = repair_event(subscription, expected, now, api_version)
        event = envelope_from(raw)
        if accept_event(event, json.dumps(raw, separators=(",", ":")), now, log, queue):
            already_logged += 1
            continue
        reason: DriftReason = "missing" if current is None else "different"
        repairs.record(Drift(event.object_id, event.customer_id, reason, fields, event.id), now)
        repaired += 1
    absent = tuple(sorted(set(stored) - seen))
    return ComparisonSummary(compared, repaired, already_logged, newer_locally, absent)
