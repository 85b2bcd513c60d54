"""What else an applied event sets off, after its state is committed: dunning.

A follow-up runs on every delivery of an event, a redelivered duplicate included, so a crash
between the commit and the follow-up never loses it; each one is idempotent itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from billing.logic import dunning
from billing.logic.dunning_service import Dunning
from billing.logic.movements import effective_time
from billing.logic.process import Outcome
from billing.logic.state import StateChange
from billing.models.events import StripeEventEnvelope


class SubscriptionStatuses(Protocol):
    def standing_of(self, subscription_id: str) -> tuple[str | None, int | None]:
        """Status, and since when it holds."""
        ...


class DunningFollowUp:
    def __init__(self, service: Dunning, subscriptions: SubscriptionStatuses) -> None:
        self._dunning = service
        self._subscriptions = subscriptions

    def __call__(self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome) -> None:
        if change.kind == "invoice":
            self._on_invoice(event, change)
        elif change.kind == "subscription" and outcome != "stale":
            status = change.attributes.get("status")
            if status in dunning.ENDED_STATUSES:
                since = effective_time(change.created, change.attributes)
                self._dunning.on_subscription_status(change.object_id, status, since)

    def _on_invoice(self, event: StripeEventEnvelope, change: StateChange) -> None:
        if event.type != dunning.FAILED_EVENT and event.type not in dunning.CLOSING_EVENTS:
            return
        status, since = None, None
        subscription_id = change.attributes.get("subscription")
        if event.type == dunning.FAILED_EVENT and subscription_id:
            # Only a failure needs it: the first invoice of an incomplete one is not dunning,
            # and one of a subscription that ended since is part of the case that ended it.
            status, since = self._subscriptions.standing_of(subscription_id)
        self._dunning.on_invoice_event(event.type, event.created, event.data_object, status, since)


class CouponAnnouncer(Protocol):
    def announce(self, coupon_id: str) -> int: ...


class CouponFollowUp:
    """A coupon event makes the coupon's terms known: the customers whose records waited
    for them are derived again. On every delivery, so a crash before the announcement is
    made good by the redelivery (a second request derives the same records)."""

    def __init__(self, arrivals: CouponAnnouncer) -> None:
        self._arrivals = arrivals

    def __call__(self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome) -> None:
        if change.kind == "coupon":
            self._arrivals.announce(change.object_id)


# The business metrics alert rules read (cognitionos.metrics_store).
PAYMENTS_FAILED = "billing.payments_failed"


class MetricsFollowUp:
    """Counts each failed invoice payment once: on the event's first application (``applied``,
    or ``stale`` when a newer version of the invoice came first), never on a redelivery."""

    def __init__(self, increment: Callable[[str], None]) -> None:
        self._increment = increment

    def __call__(self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome) -> None:
        if event.type == dunning.FAILED_EVENT and outcome in {"applied", "stale"}:
            self._increment(PAYMENTS_FAILED)
