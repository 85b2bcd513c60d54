"""Coupons for the processor: terms stored in the billing table, else read once from
Stripe and stored; and the customers to derive again when a coupon becomes known."""

from __future__ import annotations

import time
from typing import Protocol

from billing.dal.billing_state import BillingState
from billing.logic.coupons import CouponTerms, missing_coupon_fields
from billing.logic.process import StripeReader
from billing.logic.state import change_from_object

# Event type recorded with a coupon that was read from Stripe rather than delivered.
RETRIEVED = "coupon.retrieved"
# A coupon Stripe does not have (deleted before it was read) is not asked for again by this
# execution environment for a while: every event of its customers would ask.
NOT_IN_STRIPE_TTL_S = 300.0
_not_in_stripe: dict[str, float] = {}  # coupon id -> when Stripe said so (monotonic)


def forget_missing_coupons() -> None:
    """A new execution environment's view: no coupon known to be missing."""
    _not_in_stripe.clear()


class RederiveRequests(Protocol):
    def request_rederive(self, customer_id: str, coupon_id: str) -> None: ...


class CouponArrivals:
    """When a coupon becomes known, every customer whose records wait for it is queued to
    be derived again (in its own FIFO group, so between that customer's events)."""

    def __init__(self, state: BillingState, queue: RederiveRequests) -> None:
        self._state = state
        self._queue = queue

    def announce(self, coupon_id: str) -> int:
        customers = self._state.awaiting_customers(coupon_id)
        for customer_id in customers:
            self._queue.request_rederive(customer_id, coupon_id)
        return len(customers)


class StoredCoupons:
    """``CouponCatalog``: stored terms first; a coupon unknown here is read from Stripe (when
    a key is configured) once, stored, and announced. Its terms never change, so the stored
    copy is as good as a ``coupon.*`` event."""

    def __init__(
        self, state: BillingState, stripe: StripeReader | None, arrivals: CouponArrivals
    ) -> None:
        self._state = state
        self._stripe = stripe
        self._arrivals = arrivals
        self.unknown: set[str] = set()  # asked for, and neither stored nor in Stripe

    def terms(self, coupon_ids: set[str], api_version: str | None) -> dict[str, CouponTerms]:
        found = self._state.coupon_terms(coupon_ids)
        for coupon_id in sorted(coupon_ids - set(found)) if self._stripe else ():
            if (
                time.monotonic() - _not_in_stripe.get(coupon_id, -NOT_IN_STRIPE_TTL_S)
                < NOT_IN_STRIPE_TTL_S
            ):
                continue
            coupon = self._stripe.retrieve("coupon", coupon_id, api_version)  # type: ignore[union-attr]
            if coupon is None or missing_coupon_fields(coupon):
                _not_in_stripe[coupon_id] = time.monotonic()
                continue  # Stripe has no such coupon (deleted before we asked): unknown
            change = change_from_object(
                "coupon", coupon, int(coupon.get("created") or 0), RETRIEVED
            )
            if self._state.learn_coupon(change):
                self._arrivals.announce(coupon_id)
            found[coupon_id] = {k: v for k, v in change.attributes.items() if k != "deleted"}
        self.unknown = coupon_ids - set(found)
        return found
