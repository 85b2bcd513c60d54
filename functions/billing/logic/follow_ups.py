"""What else an applied event sets off, after its state is committed: dunning, coupon
arrivals, the business metrics alert rules read.

A follow-up runs on every delivery of an event, a redelivered duplicate included, so a crash
between the commit and the follow-up never loses it; each one is idempotent itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from billing.logic import dunning
from billing.logic.dunning_service import Dunning
from billing.logic.movements import MrrChange, current_mrr, effective_time
from billing.logic.process import Outcome
from billing.logic.state import HISTORY_KINDS, StateChange
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
MRR = "billing.mrr"  # gauge per (tenant_id, currency): a customer's MRR, as its records count it


class MetricsFollowUp:
    """Counts each failed invoice payment once: on the event's first application (``applied``,
    or ``stale`` when a newer version of the invoice came first), never on a redelivery."""

    def __init__(self, increment: Callable[[str], None]) -> None:
        self._increment = increment

    def __call__(self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome) -> None:
        if event.type == dunning.FAILED_EVENT and outcome in {"applied", "stale"}:
            self._increment(PAYMENTS_FAILED)


class GaugeSetter(Protocol):
    def __call__(
        self, name: str, value: float, *, labels: Mapping[str, str] | None = None
    ) -> None: ...


class MrrGauge:
    """Sets ``billing.mrr`` for a customer: its current MRR in each currency its records are
    in (minor units, 0 once it churned), labelled ``tenant_id`` and ``currency``, as revenue
    counts a customer's MRR before converting currencies. A set of what the stored records
    say, never an addition, so a redelivered, stale or out-of-order event cannot distort it.
    """

    def __init__(
        self,
        records_of: Callable[[str], tuple[Sequence[MrrChange], set[str]]],
        set_gauge: GaugeSetter,
        clock: Callable[[], float],
    ) -> None:
        self._records_of = records_of  # the records, and every currency they have named
        self._set_gauge = set_gauge
        self._clock = clock

    def emit(self, customer_id: str) -> None:
        """Records effective later (a discount that ends next month) are not current yet; a
        currency the records named before a late event reshaped them is now 0."""
        records, currencies = self._records_of(customer_id)
        now = current_mrr(records, int(self._clock()))
        for currency in sorted(currencies | set(now)):
            labels = {"tenant_id": customer_id, "currency": currency}
            self._set_gauge(MRR, now.get(currency, 0), labels=labels)


class MrrGaugeFollowUp:
    """After every delivery of a subscription or discount event (the events that can move a
    customer's MRR), a duplicate included: a crash between the commit and the gauge is made
    good by the redelivery."""

    def __init__(self, gauge: MrrGauge) -> None:
        self._gauge = gauge

    def __call__(self, event: StripeEventEnvelope, change: StateChange, outcome: Outcome) -> None:
        if change.kind in HISTORY_KINDS and change.customer_id:
            self._gauge.emit(change.customer_id)
