"""A scripted billing year end to end through two local runners: twenty customers' events
posted in order to one, shuffled with redeliveries and duplicate events to the other, end
in the same customer and subscription state and the same MRR change records, and in the
figures worked out by hand (tests/scenarios.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.delivery import (
    BILLING_TABLE,
    POST_THREADS,
    drain,
    dynamodb_of,
    plain_item,
    post_concurrently,
    post_in_order,
)
from tests.scenarios import BillingYear, billing_year, deliveries

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.long]

SEED = 2025
# Differ between two stores for the same facts: which of two identical deliveries came first,
# per-subject ciphertext, the email's blind index (each runner has its own blind-index key),
# write times and the rollup index built from them.
VOLATILE = frozenset(
    {"version_event", "email_enc", "name_enc", "email_bidx", "recorded_at", "feed_sk"}
)


@dataclass
class Delivered:
    year: BillingYear
    in_order: Any  # the session runner
    shuffled: Any  # a second runner with its own store
    figures: dict[str, Any]


# Session scope: xdist may run other tests on this worker between this module's, and a
# module fixture would then be built again (the billing year took 2 x 3 min that way).
@pytest.fixture(scope="session")
def other_runner(start_runner: Callable[[str], AbstractContextManager[Any]]) -> Iterator[Any]:
    with start_runner("year-shuffled") as other:
        yield other


# Session scope: xdist may run other tests on this worker between this module's, and a
# module fixture would then be built again (the billing year took 2 x 3 min that way).
@pytest.fixture(scope="session")
def delivered(runner: Any, other_runner: Any) -> Delivered:
    year = billing_year(SEED)
    delivery = deliveries(year.events, SEED)
    started = time.monotonic()
    with ThreadPoolExecutor(POST_THREADS + 1) as pool:
        in_order = pool.submit(post_in_order, runner, year.events)
        shuffled = post_concurrently(other_runner, delivery.posts, pool)
        first = in_order.result()
    ids = {e["id"] for e in delivery.posts}
    first.seconds_to_drain = drain(runner, {e["id"] for e in year.events}, started)
    shuffled.seconds_to_drain = drain(other_runner, ids, started)
    figures = {
        "customers": len(year.expectations),
        "events in the year": len(year.events),
        "posted in order": first.posts,
        "posted shuffled": shuffled.posts,
        "redeliveries (same event id)": delivery.redeliveries,
        "duplicate events (new id)": delivery.duplicates,
        "answered duplicate=true (shuffled)": shuffled.posts - shuffled.accepted,
        "seconds to post (in order | shuffled)": (
            round(first.seconds_to_post, 1),
            round(shuffled.seconds_to_post, 1),
        ),
        "seconds until drained (in order | shuffled)": (
            round(first.seconds_to_drain, 1),
            round(shuffled.seconds_to_drain, 1),
        ),
    }
    print("\n== billing year end to end ==")
    for name, value in figures.items():
        print(f"  {name:<45} {value}")
    return Delivered(year, runner, other_runner, figures)


def _state(runner: Any, kind: str, object_id: str) -> dict[str, Any] | None:
    item = (
        dynamodb_of(runner)
        .get_item(
            TableName=BILLING_TABLE,
            Key={"pk": {"S": f"{kind.upper()}#{object_id}"}, "sk": {"S": "STATE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return (
        None if item is None else {k: v for k, v in plain_item(item).items() if k not in VOLATILE}
    )


def _mrr_records(runner: Any, customer_id: str) -> list[dict[str, Any]]:
    """The customer's MRR change records, oldest first (one item holds them all)."""
    item = (
        dynamodb_of(runner)
        .get_item(
            TableName=BILLING_TABLE,
            Key={"pk": {"S": f"HISTORY#{customer_id}"}, "sk": {"S": "MRR"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return list(plain_item(item)["records"]) if item else []


def _dunning_cases(runner: Any, customer_ids: set[str]) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        params = {"limit": 100} | ({"next_token": token} if token else {})
        page = runner.get("/v1/billing/dunning", params=params).json()
        cases |= {c["invoice_id"]: c for c in page["cases"] if c["customer"] in customer_ids}
        token = page["next_token"]
        if not token:
            return cases


# --- the same end state, whatever the order --------------------------------------------------


def test_shuffled_delivery_with_duplicates_answers_like_in_order_for_every_customer(
    delivered: Delivered,
) -> None:
    for customer_id in delivered.year.customer_ids:
        path = f"/v1/billing/customers/{customer_id}"
        expected = delivered.in_order.get(path)
        assert expected.status_code == 200, expected.text
        assert delivered.shuffled.get(path).json() == expected.json(), customer_id


def test_shuffled_delivery_with_duplicates_answers_like_in_order_for_every_subscription(
    delivered: Delivered,
) -> None:
    for sub_id in delivered.year.subscription_ids():
        path = f"/v1/billing/subscriptions/{sub_id}"
        expected = delivered.in_order.get(path)
        assert expected.status_code == 200, expected.text
        assert delivered.shuffled.get(path).json() == expected.json(), sub_id


def test_shuffled_delivery_with_duplicates_ends_in_the_in_order_subscription_state(
    delivered: Delivered,
) -> None:
    year = delivered.year
    for sub_id in year.subscription_ids():
        expected = _state(delivered.in_order, "subscription", sub_id)
        assert expected is not None, sub_id
        assert _state(delivered.shuffled, "subscription", sub_id) == expected, sub_id


def test_shuffled_delivery_with_duplicates_ends_in_the_in_order_customer_state(
    delivered: Delivered,
) -> None:
    for customer_id in delivered.year.customer_ids:
        expected = _state(delivered.in_order, "customer", customer_id)
        assert expected is not None, customer_id
        assert _state(delivered.shuffled, "customer", customer_id) == expected, customer_id
        invoices = delivered.year.invoice_ids(customer_id)
        assert [_state(delivered.shuffled, "invoice", i) for i in invoices] == [
            _state(delivered.in_order, "invoice", i) for i in invoices
        ], customer_id


def test_shuffled_delivery_with_duplicates_ends_in_the_in_order_mrr_change_records(
    delivered: Delivered,
) -> None:
    for customer_id in delivered.year.customer_ids:
        expected = _mrr_records(delivered.in_order, customer_id)
        assert _mrr_records(delivered.shuffled, customer_id) == expected, customer_id


# --- the figures worked out by hand -------------------------------------------------------


@pytest.mark.parametrize("store", ["in_order", "shuffled"])
def test_every_customer_ends_the_year_with_the_hand_computed_status_and_mrr(
    delivered: Delivered, store: str
) -> None:
    runner = getattr(delivered, store)
    got, want = {}, {}
    for customer_id, expected in delivered.year.expectations.items():
        records = _mrr_records(runner, customer_id)
        answer = runner.get(f"/v1/billing/customers/{customer_id}").json()
        [subscription] = [s for s in answer["subscriptions"] if s["id"] == expected.subscription_id]
        assert answer["mrr"] == (records[-1]["mrr_to"] if records else 0), customer_id
        got[customer_id] = (
            subscription["status"],
            answer["mrr"],
            records[-1]["kind"] if records else None,
            any(r["involuntary"] for r in records),
        )
        want[customer_id] = (
            expected.status,
            expected.mrr,
            expected.last_movement,
            expected.involuntary_churn,
        )
    assert got == want


def test_the_annual_plan_with_a_coupon_counts_a_twelfth_less_its_discount(
    delivered: Delivered,
) -> None:
    [customer_id] = _customers_with_story(delivered.year, "annual plan with a 25 % coupon")
    for runner in (delivered.in_order, delivered.shuffled):
        [record] = _mrr_records(runner, customer_id)
        assert (record["kind"], record["mrr_from"], record["mrr_to"]) == ("new", 0, 7500)


def test_a_customer_churned_for_failed_payments_is_at_zero_with_an_involuntary_churn(
    delivered: Delivered,
) -> None:
    [customer_id] = _customers_with_story(delivered.year, "failed payment, then churn (canceled)")
    expected = delivered.year.expectations[customer_id]
    for runner in (delivered.in_order, delivered.shuffled):
        churn = _mrr_records(runner, customer_id)[-1]
        assert (churn["kind"], churn["mrr_from"], churn["mrr_to"], churn["involuntary"]) == (
            "churn",
            2000,
            0,
            True,
        )
        subscription = _state(runner, "subscription", expected.subscription_id)
        assert subscription is not None
        assert (subscription["status"], subscription["cancellation_reason"]) == (
            "canceled",
            "payment_failed",
        )


def test_recovered_customers_are_active_and_their_dunning_case_is_recovered(
    delivered: Delivered,
) -> None:
    recovered = set(_customers_with_story(delivered.year, "failed payment, then recovery"))
    recovered |= set(
        _customers_with_story(delivered.year, "failed payment, recovered on the second attempt")
    )
    churned = {c for c, e in delivered.year.expectations.items() if e.involuntary_churn}
    cases = _dunning_cases(delivered.in_order, recovered | churned)
    by_customer = Counter((c["customer"], c["status"]) for c in cases.values())
    assert by_customer == Counter(
        {(c, "recovered"): 1 for c in recovered} | {(c, "exhausted"): 1 for c in churned}
    )
    for customer_id in recovered:
        sub_id = delivered.year.expectations[customer_id].subscription_id
        subscription = _state(delivered.in_order, "subscription", sub_id)
        assert subscription is not None
        assert subscription["status"] == "active"


def _customers_with_story(year: BillingYear, story: str) -> list[str]:
    return [c for c, e in year.expectations.items() if e.story == story]


def _dunning_outcomes(delivered: Delivered, store: str) -> dict[str, tuple[str, str]]:
    customers = set(delivered.year.customer_ids)
    cases = _dunning_cases(getattr(delivered, store), customers)
    return {i: (c["status"], c["customer"]) for i, c in cases.items()}


def test_no_case_stays_open_and_a_case_listed_after_shuffled_delivery_ends_as_in_order(
    delivered: Delivered,
) -> None:
    in_order = _dunning_outcomes(delivered, "in_order")
    shuffled = _dunning_outcomes(delivered, "shuffled")
    assert "open" not in {status for status, _ in [*in_order.values(), *shuffled.values()]}
    assert {i: in_order.get(i) for i in shuffled} == shuffled


def test_every_failed_invoice_is_listed_with_the_same_outcome_whatever_the_order(
    delivered: Delivered,
) -> None:
    assert _dunning_outcomes(delivered, "shuffled") == _dunning_outcomes(delivered, "in_order")
