"""Large Stripe webhooks through the local runner: a 1.5 MiB event is accepted, applied from
its parked body and the body deleted; one over the 4 MiB cap is a 413 that leaves no trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import padded, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

MIB = 1024 * 1024
CAP = 4 * MIB
BUCKET = "cognitionos-event-bodies"  # the runner's prefix and the topology's bucket name


def parked(runner: Any, event_id: str) -> list[str]:
    listed = runner.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"stripe-events/{event_id}")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_large_signed_webhook_is_accepted_applied_and_its_body_deleted(runner: Any) -> None:
    event = padded(
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id="sub_e2e_large", customer="cus_e2e_large", quantity=4),
        ),
        int(1.5 * MIB),
    )

    response = runner.post_stripe(event)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "duplicate": False}
    runner.wait_for(
        lambda: runner.get(f"/v1/billing/events/{event['id']}").json()["status"] == "processed"
    )
    sub = runner.get("/v1/billing/subscriptions/sub_e2e_large").json()
    assert (sub["customer"], sub["status"]) == ("cus_e2e_large", "active")
    assert [item["quantity"] for item in sub["items"]] == [4]
    runner.wait_for(lambda: parked(runner, event["id"]) == [])  # deleted once applied
    assert runner.post_stripe(event).json() == {"received": True, "duplicate": True}


def test_a_webhook_over_the_cap_is_a_413_and_is_neither_logged_nor_parked(runner: Any) -> None:
    event = padded(
        stripe_event("customer.created", {"id": "cus_e2e_huge", "object": "customer"}), CAP
    )
    body = json.dumps(event).encode() + b" "  # one byte over

    response = runner.post_stripe(body)

    assert response.status_code == 413
    assert response.json() == {
        "message": (
            f"the request body is {CAP + 1} bytes; a Stripe webhook may be at most "
            f"{CAP} bytes (4 MiB)"
        )
    }
    assert runner.get(f"/v1/billing/events/{event['id']}").status_code == 404
    assert parked(runner, event["id"]) == []
    assert "cus_e2e_huge" not in runner.log(tail=200_000)  # in the body only: never logged
