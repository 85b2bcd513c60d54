"""A scripted coupon history in the current API shape (``2026-10-28.endive``): discounts
name their coupon by id (``source.coupon``), subscriptions list their discounts by id, and
webhooks expand neither. Six customers, and what a person works out by hand about each.

- ``cus_pct``: $50/month, 20% off forever: 4000.
- ``cus_amt``: $100/month, $15 off forever: 8500.
- ``cus_rep``: $30/month, 50% off for 3 months (repeating): 1500, then 3000 once it ends.
- ``cus_once``: $40/month, 100% off once (the first invoice only): 4000 throughout.
- ``cus_free``: pays $25/month, then gets 100% off forever on the customer: churn to 0.
- ``cus_annual``: $1,200/year, 25% off forever on the subscription: 10000 x 0.75 = 7500.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass
from typing import Any

from tests.factories import stripe_event, subscription

ENDIVE = "2026-10-28.endive"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86400
REPEATING_ENDS = T0 + 2 * DAY + 90 * DAY


@dataclass(frozen=True)
class Coupon:
    id: str
    terms: dict[str, Any]
    duration: str

    @property
    def object(self) -> dict[str, Any]:
        months = {"duration_in_months": 3} if self.duration == "repeating" else {}
        return {
            "id": self.id,
            "object": "coupon",
            "created": T0,
            "duration": self.duration,
            "livemode": False,
            "valid": True,
            "percent_off": None,
            "amount_off": None,
            "currency": None,
            **months,
            **self.terms,
        }


COUPONS = {
    c.id: c
    for c in (
        Coupon("co_pct20", {"percent_off": 20}, "forever"),
        Coupon("co_amt15", {"amount_off": 1500, "currency": "usd"}, "forever"),
        Coupon("co_rep50", {"percent_off": 50}, "repeating"),
        Coupon("co_once100", {"percent_off": 100}, "once"),
        Coupon("co_free100", {"percent_off": 100}, "forever"),
        Coupon("co_annual25", {"percent_off": 25}, "forever"),
    )
}

# customer -> (kind, from, to) of each MRR change, oldest first; and the MRR at the end.
EXPECTED_RECORDS: dict[str, list[tuple[str, int, int]]] = {
    "cus_pct": [("new", 0, 4000)],
    "cus_amt": [("new", 0, 8500)],
    "cus_rep": [("new", 0, 1500), ("expansion", 1500, 3000)],
    "cus_once": [("new", 0, 4000)],
    "cus_free": [("new", 0, 2500), ("churn", 2500, 0)],
    "cus_annual": [("new", 0, 7500)],
}
EXPECTED_MRR = {customer: rows[-1][2] for customer, rows in EXPECTED_RECORDS.items()}


def _endive(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "api_version": ENDIVE}


def _discount(
    discount_id: str, customer: str, coupon: str, start: int, sub: str | None, end: int | None
) -> dict[str, Any]:
    return {
        "id": discount_id,
        "object": "discount",
        "customer": customer,
        "subscription": sub,
        "start": start,
        "end": end,
        "source": {"type": "coupon", "coupon": coupon},
        "promotion_code": None,
        "invoice": None,
        "invoice_item": None,
    }


def _subscribed(
    customer: str, amount: int, at: int, coupon: str | None, interval: str = "month"
) -> list[dict[str, Any]]:
    """A subscription created at ``at``, with a discount of ``coupon`` on it from then."""
    sub_id = f"sub_{customer[4:]}"
    sub = subscription(sub_id, customer, unit_amount=amount, interval=interval)
    events = []
    if coupon:
        end = REPEATING_ENDS if COUPONS[coupon].duration == "repeating" else None
        discount = _discount(f"di_{customer[4:]}", customer, coupon, at, sub_id, end)
        sub["discounts"] = [discount["id"]]
        events.append(stripe_event("customer.discount.created", discount, created=at))
    return [stripe_event("customer.subscription.created", sub, created=at), *events]


def coupon_history() -> list[dict[str, Any]]:
    """Every event of the script, ordered by ``created`` (stable for ties)."""
    events = [stripe_event("coupon.created", c.object, created=T0) for c in COUPONS.values()]
    events += _subscribed("cus_pct", 5000, T0 + DAY, "co_pct20")
    events += _subscribed("cus_amt", 10000, T0 + DAY, "co_amt15")
    events += _subscribed("cus_rep", 3000, T0 + 2 * DAY, "co_rep50")
    events += _subscribed("cus_once", 4000, T0 + 2 * DAY, "co_once100")
    events += _subscribed("cus_annual", 120_000, T0 + 3 * DAY, "co_annual25", "year")
    events += _subscribed("cus_free", 2500, T0 + 3 * DAY, None)
    # The repeating discount ends: Stripe removes it and the subscription lists none.
    ended = _discount("di_rep", "cus_rep", "co_rep50", T0 + 2 * DAY, "sub_rep", REPEATING_ENDS)
    events.append(stripe_event("customer.discount.deleted", ended, created=REPEATING_ENDS))
    plain = subscription("sub_rep", "cus_rep", unit_amount=3000)
    events.append(stripe_event("customer.subscription.updated", plain, created=REPEATING_ENDS))
    # A paying customer is given 100% off forever, on the customer: churn.
    free = _discount("di_free", "cus_free", "co_free100", T0 + 40 * DAY, None, None)
    events.append(stripe_event("customer.discount.created", free, created=T0 + 40 * DAY))
    return sorted((_endive(e) for e in events), key=lambda e: e["created"])


def shuffled_with_duplicates(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The same events in another order, a third of them delivered twice, and two changes
    sent twice under new event ids (as Stripe sometimes does)."""
    rng = random.Random(seed)
    again = rng.sample(events, len(events) // 3)
    copies = [
        {**copy.deepcopy(e), "id": f"evt_copy{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"}
        for e in rng.sample(events, 2)
    ]
    delivered = [*events, *again, *copies]
    rng.shuffle(delivered)
    return delivered
