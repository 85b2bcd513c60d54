"""Histories for the order-free property (tests/integration/test_order_free_state*.py): a
customer's events, delivered in order and shuffled with redeliveries and duplicate events
under new ids, and the check that both end in the same state and MRR change records.
Ties on ``created`` are generated on purpose: the status precedence breaks them.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import boto3
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.factories import pk_sk_table, stripe_event, subscription
from tests.integration.conftest import REGION

STATUSES = ["incomplete", "trialing", "active", "past_due", "unpaid", "paused", "canceled"]
CUSTOMER = "cus_prop"
# 500 examples in all, in two halves that pytest-xdist runs side by side.
EXAMPLES_EACH = 250


@st.composite
def subscription_events(draw: st.DrawFn, sub_id: str) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=1, max_value=5))
    times = sorted(draw(st.lists(st.integers(1, 30), min_size=n, max_size=n)))  # ties happen
    interval = draw(st.sampled_from(["month", "year"]))
    events = []
    for created in times:
        status = draw(st.sampled_from(STATUSES))
        obj = subscription(
            sub_id=sub_id,
            customer=CUSTOMER,
            status=status,
            quantity=draw(st.integers(1, 3)),
            unit_amount=draw(st.sampled_from([1000, 2500])),
            interval=interval,
        )
        obj["cancel_at_period_end"] = draw(st.booleans())
        if status == "canceled":
            obj["ended_at"] = created
            obj["cancellation_details"] = {
                "reason": draw(st.sampled_from([None, "payment_failed"]))
            }
        kind = "deleted" if status == "canceled" else draw(st.sampled_from(["created", "updated"]))
        events.append(stripe_event(f"customer.subscription.{kind}", obj, created=created))
    return events


@st.composite
def discount_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    start = draw(st.integers(1, 30))
    discount = {
        "id": "di_prop",
        "object": "discount",
        "customer": CUSTOMER,
        "subscription": draw(st.sampled_from([None, "sub_0"])),
        "start": start,
        "end": None,
        "coupon": {
            "id": "C",
            "percent_off": draw(st.sampled_from([50, 100])),
            "duration": "forever",
        },
    }
    events = [stripe_event("customer.discount.created", discount, created=start)]
    if draw(st.booleans()):
        events.append(
            stripe_event(
                "customer.discount.deleted", discount, created=draw(st.integers(start, 30))
            )
        )
    return events


@st.composite
def deliveries(
    draw: st.DrawFn, subscriptions: int, coupons: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(in-order events, the same events shuffled with redeliveries and duplicate events)."""
    events = []
    for n in range(subscriptions):
        events += draw(subscription_events(f"sub_{n}"))
    if coupons and draw(st.booleans()):
        events += draw(discount_events())
    # Stripe sometimes sends one change twice under two event ids.
    for original in draw(st.lists(st.sampled_from(events), max_size=2)):
        events.append({**copy.deepcopy(original), "id": f"evt_dup{uuid.uuid4().hex[:12]}"})
    in_order = sorted(events, key=lambda e: e["created"])
    redelivered = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return in_order, draw(st.permutations(events + redelivered))


def fresh_table() -> Any:
    return pk_sk_table(
        boto3.resource("dynamodb", region_name=REGION), f"billing-{uuid.uuid4().hex[:8]}"
    )


def deliver(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Log and apply each delivery as ingest and the processor would; the end state."""
    from billing.dal.billing_state import BillingState
    from billing.dal.event_log import EventLog
    from billing.logic.process import apply_event
    from billing.logic.webhook import envelope_from

    table = fresh_table()
    log, store = EventLog(table), BillingState(table)
    for raw in events:
        event = envelope_from(raw)
        log.record_once(event, received_at=1_800_000_000)
        apply_event(event, log, store)
    objects = {
        (kind, object_id): _state_view(store.get(kind, object_id))
        for kind, object_id in [
            ("subscription", "sub_0"),
            ("subscription", "sub_1"),
            ("discount", "di_prop"),
        ]
    }
    records = sorted(store.mrr_changes(CUSTOMER), key=lambda r: (r.effective_at, r.currency))
    statuses = {log.get(e["id"])["status"] for e in events}  # type: ignore[index]
    return {"objects": objects, "records": records, "statuses": statuses}


def _state_view(item: dict[str, Any] | None) -> Any:
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in ("version_event",)}


PROPERTY = settings(
    max_examples=EXAMPLES_EACH,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
History = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def assert_same_as_in_order(in_order: list[dict[str, Any]], shuffled: list[dict[str, Any]]) -> None:
    expected = deliver(in_order)
    actual = deliver(shuffled)

    assert actual["objects"] == expected["objects"]
    assert actual["records"] == expected["records"]
    assert actual["statuses"] == expected["statuses"] == {"processed"}
