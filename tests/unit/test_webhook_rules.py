"""Stripe webhook rules: verification errors, envelopes, grouping, resend policy."""

from __future__ import annotations

import json
import time

import pytest

from billing.logic.envelope import envelope_from, message_group, should_enqueue
from billing.logic.webhook import verify_stripe_event
from cognitionos.errors import BadRequest
from tests.factories import invoice, sign, stripe_event, subscription

SECRET = "whsec_unit"


def test_a_valid_signature_yields_the_envelope() -> None:
    event = stripe_event("invoice.paid", invoice(customer="cus_9"), created=1_700_000_000)
    body = json.dumps(event)
    envelope = verify_stripe_event(body, sign(body, SECRET), SECRET)
    assert (envelope.id, envelope.type, envelope.created) == (
        event["id"],
        "invoice.paid",
        1_700_000_000,
    )
    assert (envelope.object_id, envelope.customer_id) == ("in_1", "cus_9")


def test_a_header_carrying_several_signatures_during_a_secret_roll_is_accepted() -> None:
    body = json.dumps(stripe_event("invoice.paid", invoice()))
    t = int(time.time())
    old = sign(body, "whsec_old", t).split(",")[1]
    header = f"{sign(body, SECRET, t)},{old}"
    assert verify_stripe_event(body, header, SECRET).type == "invoice.paid"


def test_a_timestamp_just_inside_the_tolerance_is_accepted() -> None:
    body = json.dumps(stripe_event("invoice.paid", invoice()))
    assert verify_stripe_event(body, sign(body, SECRET, int(time.time()) - 290), SECRET)


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (
            {"object": "event", "type": "x", "created": 1, "data": {"object": {"id": "o"}}},
            "invalid id",
        ),
        (
            {
                "id": "evt_1",
                "object": "charge",
                "type": "x",
                "created": 1,
                "data": {"object": {"id": "o"}},
            },
            "invalid object",
        ),
        (
            {
                "id": "evt_1",
                "object": "event",
                "type": "x",
                "created": "soon",
                "data": {"object": {"id": "o"}},
            },
            "invalid created",
        ),
        (
            {"id": "evt_1", "object": "event", "type": "x", "created": 1, "data": {}},
            "data.object.id is missing",
        ),
        (
            {
                "id": "nope",
                "object": "event",
                "type": "x",
                "created": 1,
                "data": {"object": {"id": "o"}},
            },
            "invalid id",
        ),
    ],
)
def test_an_envelope_names_what_is_wrong(event: dict[str, object], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        envelope_from(event)


def _event(data_object: dict[str, object], created: int = 1) -> dict[str, object]:
    return {
        "id": "evt_1",
        "object": "event",
        "type": "x",
        "created": created,
        "data": {"object": data_object},
    }


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        # The event log orders by an 11-digit created; a larger one would sort wrong and
        # fail the event's ISO time when it is listed.
        (_event({"id": "o"}, created=100_000_000_000), "invalid created"),
        # Ids that cannot be an SQS message group (the queue send would fail: a 500).
        (_event({"id": "in 1"}), "invalid data.object.id"),
        (_event({"id": "x" * 129}), "invalid data.object.id"),
        (_event({"id": "in_1", "customer": "cus_\u00e9"}), "invalid data.object.customer"),
        (_event({"id": "", "object": "customer"}), "invalid data.object.id, data.object.customer"),
    ],
)
def test_an_envelope_the_log_or_the_queue_cannot_take_is_refused(
    event: dict[str, object], problem: str
) -> None:
    with pytest.raises(BadRequest, match=f"not a Stripe event: {problem}$"):
        envelope_from(event)


def test_the_largest_created_and_ids_the_queue_takes_are_accepted() -> None:
    envelope = envelope_from(_event({"id": "!" + "~" * 127, "customer": "cus_9"}, 99_999_999_999))

    assert (envelope.created, envelope.customer_id) == (99_999_999_999, "cus_9")


def test_the_group_is_the_customer_or_else_the_object() -> None:
    assert (
        message_group(
            envelope_from(
                stripe_event("customer.subscription.created", subscription(customer="cus_7"))
            )
        )
        == "cus_7"
    )
    assert (
        message_group(
            envelope_from(stripe_event("customer.created", {"id": "cus_8", "object": "customer"}))
        )
        == "cus_8"
    )
    expanded = subscription() | {"customer": {"id": "cus_x", "object": "customer"}}
    assert (
        message_group(envelope_from(stripe_event("customer.subscription.updated", expanded)))
        == "cus_x"
    )
    assert (
        message_group(
            envelope_from(stripe_event("product.created", {"id": "prod_1", "object": "product"}))
        )
        == "prod_1"
    )


@pytest.mark.parametrize(
    ("previous", "send"),
    [(None, True), ("queued", True), ("failed", True), ("processed", False), ("ignored", False)],
)
def test_only_unapplied_events_are_queued_again(previous: str | None, send: bool) -> None:
    assert should_enqueue(previous) is send  # type: ignore[arg-type]
