"""Which stored subscriptions differ from Stripe's, and the repair event each one gets."""

from __future__ import annotations

from typing import Any

from billing.logic.reconcile import (
    COMPARISON_INTERVAL_S,
    COMPARISON_SLACK_S,
    Drift,
    compare_subscriptions,
    differing_fields,
    next_comparison_at,
    repair_event,
)
from billing.logic.state import subscription_state
from billing.models.events import EventStatus, StripeEventEnvelope
from tests.factories import subscription

NOW = 1_800_000_000


class Log:
    def __init__(self) -> None:
        self.statuses: dict[str, EventStatus] = {}

    def record_once(self, event: StripeEventEnvelope, received_at: int) -> EventStatus | None:
        previous = self.statuses.get(event.id)
        self.statuses.setdefault(event.id, "queued")
        return previous


class Queue:
    def __init__(self) -> None:
        self.sent: list[StripeEventEnvelope] = []

    def send(self, event: StripeEventEnvelope, raw_event: str) -> None:
        self.sent.append(event)


class Repairs:
    def __init__(self) -> None:
        self.recorded: list[Drift] = []

    def record(self, drift: Drift, at: int) -> None:
        self.recorded.append(drift)


def stored(sub: dict[str, Any], version: int = NOW - 3600) -> dict[str, Any]:
    return {"id": sub["id"], "customer_id": sub["customer"], "created": version} | (
        subscription_state(sub)
    )


def test_the_same_state_has_no_differences() -> None:
    sub = subscription()
    assert differing_fields(subscription_state(sub), stored(sub)) == ()


def test_differences_are_named_by_field_and_item_field_never_by_value() -> None:
    stripe = subscription_state(subscription(status="active", quantity=3, unit_amount=2500))
    ours = stored(subscription(status="past_due", quantity=1, unit_amount=2000))
    assert differing_fields(stripe, ours) == ("items.quantity", "items.unit_amount", "status")


def test_an_item_added_or_replaced_is_a_difference_in_items() -> None:
    stripe = subscription_state(subscription())
    two_items = stored(subscription())
    two_items["items"] = [*two_items["items"], {**two_items["items"][0], "id": "si_other"}]
    replaced = stored(subscription())
    replaced["items"] = [{**replaced["items"][0], "id": "si_other"}]
    assert differing_fields(stripe, two_items) == ("items",)
    assert differing_fields(stripe, replaced) == ("items",)


def test_a_field_billing_never_stored_counts_as_different_only_if_stripe_has_a_value() -> None:
    stripe = subscription_state(subscription())
    ours = stored(subscription())
    del ours["canceled_at"]  # None in Stripe's object
    del ours["status"]
    assert differing_fields(stripe, ours) == ("status",)


def test_a_repair_event_id_depends_on_the_subscription_and_its_state_only() -> None:
    sub = subscription()
    state = subscription_state(sub)
    first = repair_event(sub, state, NOW, "2025-03-31.basil")
    later = repair_event(sub, state, NOW + 3600, "2025-03-31.basil")
    changed = repair_event(
        subscription(quantity=2), subscription_state(subscription(quantity=2)), NOW, None
    )
    other = repair_event(
        subscription(sub_id="sub_2"), subscription_state(subscription(sub_id="sub_2")), NOW, None
    )
    assert first["id"] == later["id"]
    assert len({first["id"], changed["id"], other["id"]}) == 3
    assert first["id"].startswith("evt_repair_")
    assert (first["type"], first["created"], first["api_version"]) == (
        "customer.subscription.updated",
        NOW,
        "2025-03-31.basil",
    )
    assert first["data"]["object"] is sub


def test_only_drifted_subscriptions_are_queued_and_recorded() -> None:
    same, drifted, new = (
        subscription("sub_same"),
        subscription("sub_drift", quantity=3),
        subscription("sub_new"),
    )
    log, queue, repairs = Log(), Queue(), Repairs()
    ours = {
        "sub_same": stored(same),
        "sub_drift": stored(subscription("sub_drift")),
        "sub_gone": stored(subscription("sub_gone")),
    }

    summary = compare_subscriptions(
        [same, drifted, new], ours, NOW, log=log, queue=queue, repairs=repairs
    )

    assert summary.as_dict() == {
        "compared": 3,
        "repaired": 2,
        "repair_already_logged": 0,
        "newer_locally": 0,
        "not_in_stripe": 1,
    }
    assert summary.not_in_stripe == ("sub_gone",)
    assert [e.object_id for e in queue.sent] == ["sub_drift", "sub_new"]
    assert [(d.subscription_id, d.reason, d.fields) for d in repairs.recorded] == [
        ("sub_drift", "different", ("items.quantity",)),
        ("sub_new", "missing", ()),
    ]


def test_comparing_again_before_the_repair_is_applied_records_nothing_new() -> None:
    drifted = subscription(quantity=3)
    ours = {"sub_1": stored(subscription())}
    log, queue, repairs = Log(), Queue(), Repairs()
    compare_subscriptions([drifted], ours, NOW, log=log, queue=queue, repairs=repairs)

    again = compare_subscriptions([drifted], ours, NOW + 60, log=log, queue=queue, repairs=repairs)

    assert (again.repaired, again.repair_already_logged) == (0, 1)
    assert len(repairs.recorded) == 1


def test_state_stored_from_an_event_at_or_after_the_run_began_is_left_alone() -> None:
    log, queue, repairs = Log(), Queue(), Repairs()
    ours = {"sub_1": stored(subscription(), version=NOW)}

    summary = compare_subscriptions(
        [subscription(quantity=9)], ours, NOW, log=log, queue=queue, repairs=repairs
    )

    assert (summary.newer_locally, summary.repaired, queue.sent) == (1, 0, [])


def test_the_comparison_is_due_first_then_daily_with_slack_for_schedule_jitter() -> None:
    due_at = NOW + COMPARISON_INTERVAL_S - COMPARISON_SLACK_S
    assert next_comparison_at(None, NOW, on_demand=False) is None
    assert next_comparison_at(NOW, NOW + 3600, on_demand=False) == due_at
    assert next_comparison_at(NOW, due_at - 1, on_demand=False) == due_at
    assert next_comparison_at(NOW, due_at, on_demand=False) is None
    assert next_comparison_at(NOW, NOW + 60, on_demand=True) is None


def test_the_same_subscription_in_an_older_api_versions_shape_does_not_differ() -> None:
    """Before 2025-03-31.basil the billing period was on the subscription; from it on, on
    each item: read in either shape, the state compares equal."""
    basil = subscription()
    item = basil["items"]["data"][0]
    older = {
        **basil,
        "current_period_start": item["current_period_start"],
        "current_period_end": item["current_period_end"],
        "items": {
            **basil["items"],
            "data": [
                {
                    k: v
                    for k, v in item.items()
                    if k not in ("current_period_start", "current_period_end")
                }
            ],
        },
    }
    assert differing_fields(subscription_state(older), subscription_state(basil)) == ()
    assert differing_fields(subscription_state(basil), subscription_state(older)) == ()


def test_a_discount_listed_by_id_or_expanded_is_the_same_discount() -> None:
    coupon = {"id": "co_1", "percent_off": 20, "duration": "forever"}
    by_id = {**subscription(), "discounts": ["di_1"]}
    expanded = {
        **subscription(),
        "discounts": [{"id": "di_1", "object": "discount", "source": {"coupon": coupon}}],
    }
    assert differing_fields(subscription_state(expanded), subscription_state(by_id)) == ()
    dropped = {**subscription(), "discounts": []}
    assert differing_fields(subscription_state(dropped), subscription_state(by_id)) == (
        "discount_ids",
    )
