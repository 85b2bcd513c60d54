"""Histories for the order-free property (tests/integration/test_order_free_*.py): a
customer's events, delivered in order and shuffled with redeliveries and duplicate events
under new ids, and the check that both end in the same state, MRR change records and
``billing.mrr`` gauge (set after every delivery, so the last set must be the records' MRR).

Ties on ``created`` are generated on purpose: without a Stripe key the status precedence
breaks them; with one (a fake Stripe on loopback answering each object's newest state) the
re-fetch does. Coupons come in both shapes: embedded in the discount (2025-03-31.basil)
and by id (2025-09-30.clover on), their terms from a ``coupon.*`` event (which may come
before or after the discount, or never) or read from the fake Stripe.
"""

from __future__ import annotations

import copy
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cognitionos import aws as kernel_aws
from tests.factories import invoice, stripe_event, subscription
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import REGION

STATUSES = ["incomplete", "trialing", "active", "past_due", "unpaid", "paused", "canceled"]
CUSTOMER = "cus_prop"
COUPON = "co_prop"
DUNNING_INVOICE = "in_prop"
# 500 examples in all, in two halves that pytest-xdist runs side by side.
EXAMPLES_EACH = 250
# The dunning and key-configured properties deliver more and call SES or a fake Stripe.
EXAMPLES_COSTLY = 80


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
    """A discount on the customer or on sub_0, maybe removed later; its coupon embedded
    (basil) or named by id (clover), with a ``coupon.created`` event or without one."""
    start = draw(st.integers(1, 30))
    duration = draw(st.sampled_from(["forever", "forever", "repeating", "once"]))
    terms: dict[str, Any] = draw(
        st.sampled_from(
            [{"percent_off": 50}, {"percent_off": 100}, {"amount_off": 700, "currency": "usd"}]
        )
    )
    coupon = {"id": COUPON, "object": "coupon", "duration": duration, "created": 1, **terms}
    discount: dict[str, Any] = {
        "id": "di_prop",
        "object": "discount",
        "customer": CUSTOMER,
        "subscription": draw(st.sampled_from([None, "sub_0"])),
        "start": start,
        "end": start + draw(st.integers(1, 10)) if duration == "repeating" else None,
    }
    clover = draw(st.booleans())
    if clover:
        discount["source"] = {"type": "coupon", "coupon": COUPON}
    else:
        discount["coupon"] = coupon
    events = [stripe_event("customer.discount.created", discount, created=start)]
    if draw(st.booleans()):
        events.append(
            stripe_event(
                "customer.discount.deleted", discount, created=draw(st.integers(start, 30))
            )
        )
    if clover and draw(st.booleans()):
        events.append(stripe_event("coupon.created", coupon, created=draw(st.integers(1, start))))
    return events


def coupon_of_history(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The coupon the history's discount was made from (what Stripe would answer)."""
    for event in events:
        obj = event["data"]["object"]
        if obj.get("object") == "coupon":
            return dict(obj)
        if isinstance(obj.get("coupon"), dict):
            return dict(obj["coupon"])
    return None


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
    return draw(shuffled_with_repeats(events))


@st.composite
def dunning_deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """sub_0's renewal fails one to four times (Stripe's retries; the subscription goes
    ``past_due`` at the first), then the invoice is paid, or the subscription ends
    (``canceled`` for ``payment_failed``, or ``unpaid``), or neither yet."""
    start = draw(st.integers(1, 5))
    active = subscription(sub_id="sub_0", customer=CUSTOMER)
    events = [stripe_event("customer.subscription.created", active, created=start)]
    attempts = draw(st.integers(1, 4))
    times = sorted(
        draw(
            st.lists(st.integers(start + 1, 40), min_size=attempts, max_size=attempts, unique=True)
        )
    )
    ending = draw(st.sampled_from(["open", "paid", "canceled", "unpaid"]))
    ends_at = draw(st.integers(times[-1], 50))  # may share the last failure's second
    for n, at in enumerate(times, start=1):
        retry = times[n] if n < attempts else (None if ending in ("canceled", "unpaid") else 99)
        failed = invoice(DUNNING_INVOICE, CUSTOMER, status="open", sub_id="sub_0") | {
            "attempt_count": n,
            "next_payment_attempt": retry,
            "hosted_invoice_url": "https://invoice.stripe.com/i/prop",
        }
        events.append(stripe_event("invoice.payment_failed", failed, created=at))
        if n == 1:
            past_due = {**active, "status": "past_due"}
            events.append(stripe_event("customer.subscription.updated", past_due, created=at))
    if ending == "paid":
        paid = invoice(DUNNING_INVOICE, CUSTOMER, status="paid", sub_id="sub_0")
        events.append(
            stripe_event("invoice.paid", paid | {"attempt_count": attempts}, created=ends_at)
        )
        events.append(stripe_event("customer.subscription.updated", active, created=ends_at))
    elif ending == "canceled":
        canceled = {
            **active,
            "status": "canceled",
            "ended_at": ends_at,
            "cancellation_details": {"reason": "payment_failed"},
        }
        events.append(stripe_event("customer.subscription.deleted", canceled, created=ends_at))
    elif ending == "unpaid":
        unpaid = {**active, "status": "unpaid"}
        events.append(stripe_event("customer.subscription.updated", unpaid, created=ends_at))
    return draw(shuffled_with_repeats(events))


@st.composite
def shuffled_with_repeats(
    draw: st.DrawFn, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(in created order, then in any order with redeliveries, and some changes sent twice
    under two event ids, as Stripe sometimes does)."""
    events = list(events)
    for original in draw(st.lists(st.sampled_from(events), max_size=2)):
        events.append({**copy.deepcopy(original), "id": f"evt_dup{uuid.uuid4().hex[:12]}"})
    in_order = sorted(events, key=lambda e: e["created"])
    redelivered = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return in_order, draw(st.permutations(events + redelivered))


def fresh_table() -> Any:
    """A new billing table with the deployed one's keys and indexes (dunning lists cases)."""
    from infra import topology
    from infra.local.config import LocalConfig
    from infra.local.provision import create_table

    dynamodb = _dynamodb(kernel_aws.client("dynamodb"))
    name = create_table(
        dynamodb.meta.client,
        topology.BILLING_TABLE,
        LocalConfig(prefix=f"prop{uuid.uuid4().hex[:8]}"),
    )
    return dynamodb.Table(name)


@functools.lru_cache(maxsize=1)
def _dynamodb(test_client: Any) -> Any:
    """One DynamoDB resource per test, not two new clients per delivery (a client costs
    ~20 ms; an example delivers twice). Keyed by the kernel's client, which the ``aws``
    fixture replaces for each test, so a test never gets the previous moto backend's."""
    return boto3.resource("dynamodb", region_name=REGION)


@dataclass
class Rederivations:
    """The billing queue's re-derivation requests, applied as the processor would."""

    requested: list[tuple[str, str]] = field(default_factory=list)

    def request_rederive(self, customer_id: str, coupon_id: str) -> None:
        self.requested.append((customer_id, coupon_id))


def newest_objects(in_order: list[dict[str, Any]], stripe: FakeStripe) -> None:
    """Have the fake Stripe answer each object's newest state: the last in-order event's."""
    stripe.forget()
    stores = {"subscription": stripe.subscriptions, "invoice": stripe.invoices}
    for event in in_order:
        obj = event["data"]["object"]
        if obj.get("object") in stores:
            stores[obj["object"]][obj["id"]] = copy.deepcopy(obj)
    coupon = coupon_of_history(in_order)
    if coupon is not None:
        stripe.coupons[COUPON] = coupon


def deliver(
    events: list[dict[str, Any]], stripe: FakeStripe | None = None, dunning: bool = False
) -> dict[str, Any]:
    """Log and apply each delivery as ingest and the processor would, with a Stripe key when
    ``stripe`` is given and dunning follow-ups when asked; the end state."""
    from billing.dal.billing_state import BillingState
    from billing.dal.coupons import CouponArrivals, StoredCoupons
    from billing.dal.dunning_cases import DunningCases
    from billing.dal.event_log import EventLog
    from billing.dal.stripe_api import ConfiguredStripeReader
    from billing.logic.envelope import envelope_from
    from billing.logic.follow_ups import (
        CouponFollowUp,
        DunningFollowUp,
        MrrGauge,
        MrrGaugeFollowUp,
    )
    from billing.logic.movements import current_mrr
    from billing.logic.process import FollowUp, Sources, apply_event, rederive_customer
    from billing.settings import process_settings

    table = fresh_table()
    log, store = EventLog(table), BillingState(table)
    queue = Rederivations()
    arrivals = CouponArrivals(store, queue)
    settings = process_settings()
    reader = (
        ConfiguredStripeReader(settings.stripe_api_key_secret_id, stripe.url) if stripe else None
    )
    sources = Sources(reader, StoredCoupons(store, reader, arrivals))
    gauges: dict[tuple[str, str], float] = {}  # billing.mrr as set, last set wins

    def set_gauge(name: str, value: float, *, labels: Any = None) -> None:
        gauges[(labels["tenant_id"], labels["currency"])] = value

    gauge = MrrGauge(store.record_set, set_gauge, clock=lambda: 1_800_000_000)
    follow_ups: list[FollowUp] = [CouponFollowUp(arrivals), MrrGaugeFollowUp(gauge)]
    if dunning:
        follow_ups.append(DunningFollowUp(dunning_service_for(table), store))
    for raw in events:
        event = envelope_from(raw)
        log.record_once(event, received_at=1_800_000_000)
        apply_event(event, log, store, sources, follow_ups)
        while queue.requested:
            customer_id = queue.requested.pop(0)[0]
            if rederive_customer(customer_id, store, sources):
                gauge.emit(customer_id)  # as the processor does after a re-derivation
    objects = {
        (kind, object_id): _state_view(store.get(kind, object_id))
        for kind, object_id in [
            ("subscription", "sub_0"),
            ("subscription", "sub_1"),
            ("discount", "di_prop"),
            ("coupon", COUPON),
            ("invoice", DUNNING_INVOICE),
        ]
    }
    records = sorted(store.mrr_changes(CUSTOMER), key=lambda r: (r.effective_at, r.currency))
    statuses = {log.get(e["id"])["status"] for e in events}  # type: ignore[index]
    case = DunningCases(table).get(DUNNING_INVOICE)
    now_mrr = current_mrr(records, 1_800_000_000)
    assert {c: v for (_, c), v in gauges.items() if v or c in now_mrr} == now_mrr, gauges
    return {
        "objects": objects,
        "records": records,
        "gauges": gauges,
        "statuses": statuses,
        "case": _case_view(case) if case else None,
    }


def dunning_service_for(table: Any) -> Any:
    from billing.dal.dunning import dunning_service
    from billing.settings import DunningEmailSettings
    from cognitionos.settings import load_settings

    return dunning_service(table, load_settings(DunningEmailSettings))


def _case_view(case: Any) -> dict[str, Any]:
    """What a dunning case says, less its emails: those are sent as events arrive, and an
    email sent cannot be unsent when an earlier event arrives after it."""
    return {
        name: getattr(case, name)
        for name in (
            "status",
            "attempt_count",
            "amount_due",
            "opened_at",
            "closed_at",
            "closed_reason",
            "churn",
            "next_attempt_at",
            "listed",
        )
    }


def _state_view(item: dict[str, Any] | None) -> Any:
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in ("version_event",)}


PROPERTY = settings(
    max_examples=EXAMPLES_EACH,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COSTLY_PROPERTY = settings(PROPERTY, max_examples=EXAMPLES_COSTLY)
History = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def assert_same_as_in_order(
    in_order: list[dict[str, Any]],
    shuffled: list[dict[str, Any]],
    stripe: FakeStripe | None = None,
    dunning: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both deliveries end alike; with ``stripe``, its objects are the newest states and no
    coupon is read more than once per delivery. The two end states, for more checks."""
    from billing.dal.coupons import forget_missing_coupons

    if stripe is not None:
        newest_objects(in_order, stripe)
    expected = deliver(in_order, stripe, dunning)
    forget_missing_coupons()
    if stripe is not None:
        assert stripe.gets(f"/v1/coupons/{COUPON}") <= 1
        newest_objects(in_order, stripe)
    actual = deliver(shuffled, stripe, dunning)
    if stripe is not None:
        assert stripe.gets(f"/v1/coupons/{COUPON}") <= 1

    assert actual["objects"] == expected["objects"]
    assert actual["records"] == expected["records"]
    # billing.mrr: redeliveries and late events distort nothing (0 where the records are silent)
    assert {k: v for k, v in actual["gauges"].items() if v} == {
        k: v for k, v in expected["gauges"].items() if v
    }
    assert actual["case"] == expected["case"], (actual["case"], expected["case"])
    assert actual["statuses"] == expected["statuses"] == {"processed"}
    return expected, actual
