"""The scripted billing year (tests/scenarios.py) is what the end-to-end test relies on: its
hand-worked figures agree with the pure MRR rules, and it is the same for the same seed."""

from __future__ import annotations

from collections import defaultdict

import pytest

from billing.logic.envelope import envelope_from
from billing.logic.history import CustomerHistory
from billing.logic.state import StateChange, state_change
from tests.scenarios import STORIES, YEAR_END, YEAR_START, billing_year, deliveries


def _changes(events: list[dict[str, object]]) -> list[StateChange]:
    changes = [state_change(envelope_from(e)) for e in events]
    assert all(c is not None for c in changes), "every scripted event is one billing acts on"
    return [c for c in changes if c is not None]


@pytest.mark.parametrize("seed", [0, 1, 2025])
def test_the_hand_worked_figures_agree_with_the_mrr_rules(seed: int) -> None:
    year = billing_year(seed)
    versions: dict[str, list[StateChange]] = defaultdict(list)
    newest: dict[str, StateChange] = {}
    for change in _changes(year.events):
        if change.kind in ("subscription", "discount") and change.customer_id:
            versions[change.customer_id].append(change)
        if change.kind == "subscription" and (
            change.object_id not in newest or change.version > newest[change.object_id].version
        ):
            newest[change.object_id] = change

    got, want = {}, {}
    for customer_id, expected in year.expectations.items():
        history = CustomerHistory(customer_id).with_versions(versions[customer_id])
        records = history.derive(coupons={}).records  # the year's coupons are embedded
        got[customer_id] = (
            newest[expected.subscription_id].attributes["status"],
            records[-1].mrr_to if records else 0,
            records[-1].kind if records else None,
            any(r.involuntary for r in records),
        )
        want[customer_id] = (
            expected.status,
            expected.mrr,
            expected.last_movement,
            expected.involuntary_churn,
        )
    assert got == want


def test_the_year_covers_every_story_for_twenty_customers_within_2025() -> None:
    year = billing_year()
    types = {e["type"] for e in year.events}
    assert len(year.expectations) == len(STORIES) == 20
    assert {e.story for e in year.expectations.values()} == {s for s, _ in STORIES}
    assert {
        "customer.created",
        "customer.updated",
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.discount.created",
        "customer.discount.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.paid",
    } <= types
    assert all(YEAR_START <= e["created"] < YEAR_END for e in year.events)
    assert [e["created"] for e in year.events] == sorted(e["created"] for e in year.events)
    assert len({e["id"] for e in year.events}) == len(year.events)


def test_some_invoice_payments_share_their_second_with_the_subscription_update() -> None:
    year = billing_year()
    seconds = defaultdict(set)
    for event in year.events:
        seconds[(event["created"], event["data"]["object"].get("customer"))].add(event["type"])
    pairs = [t for t in seconds.values() if {"invoice.paid", "customer.subscription.updated"} <= t]
    assert len(pairs) >= 20


def test_the_same_seed_gives_the_same_year_and_the_same_delivery() -> None:
    assert billing_year(7).events == billing_year(7).events
    assert [e["created"] for e in billing_year(7).events] != [
        e["created"] for e in billing_year(8).events
    ]
    first, again = (deliveries(billing_year(7).events, 7) for _ in range(2))
    assert first.posts == again.posts


def test_a_delivery_posts_every_event_with_redeliveries_and_duplicates_under_new_ids() -> None:
    year = billing_year()
    delivery = deliveries(year.events, redelivery_rate=0.2, duplicates=5)
    original = {e["id"] for e in year.events}
    posted_ids = [e["id"] for e in delivery.posts]
    assert original <= set(posted_ids)
    assert (
        len(posted_ids) - len(set(posted_ids))
        == delivery.redeliveries
        == round(0.2 * len(year.events))
    )
    renamed = [e for e in delivery.posts if e["id"] not in original]
    assert len(renamed) == delivery.duplicates == 5
    created = [e["created"] for e in delivery.posts]
    assert created != sorted(created)  # shuffled
