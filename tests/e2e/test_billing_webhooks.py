"""Stripe webhooks end to end through the local runner: signed in, stored once, processed."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.factories import sign, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def all_events(runner: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = runner.get(
            "/v1/billing/events", params={"limit": 100} | ({"next_token": token} if token else {})
        ).json()
        events += page["events"]
        token = page["next_token"]
        if not token:
            return events


def wait_processed(
    runner: Any, event_ids: set[str], timeout: float = 60
) -> dict[str, dict[str, Any]]:
    def done() -> dict[str, dict[str, Any]] | None:
        seen = {e["id"]: e for e in all_events(runner) if e["id"] in event_ids}
        ready = len(seen) == len(event_ids) and all(
            e["status"] == "processed" for e in seen.values()
        )
        return seen if ready else None

    return runner.wait_for(done, timeout)


def test_one_event_posted_three_times_in_a_row_and_three_at_once_is_stored_once(
    runner: Any,
) -> None:
    event = stripe_event(
        "customer.subscription.created",
        subscription(sub_id="sub_e2e_once", customer="cus_e2e_once"),
    )
    body = json.dumps(event).encode()

    in_a_row = [runner.post_stripe(body) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        at_once = list(pool.map(lambda _: runner.post_stripe(body), range(3)))

    assert [r.status_code for r in in_a_row + at_once] == [200] * 6
    assert [r.json()["duplicate"] for r in in_a_row] == [False, True, True]
    assert all(r.json()["duplicate"] for r in at_once)
    seen = wait_processed(runner, {event["id"]})
    assert [e["id"] for e in all_events(runner)].count(event["id"]) == 1
    assert seen[event["id"]]["status"] == "processed"
    single = runner.get(f"/v1/billing/events/{event['id']}").json()
    assert single == seen[event["id"]]


def test_a_hundred_distinct_events_posted_concurrently_are_all_stored_once(runner: Any) -> None:
    events = [
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id=f"sub_c{n}", customer=f"cus_c{n % 25}"),
        )
        for n in range(100)
    ]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda e: runner.post_stripe(json.dumps(e).encode()), events))

    assert sorted(r.status_code for r in responses) == [200] * 100
    assert not any(r.json()["duplicate"] for r in responses)
    wait_processed(runner, {e["id"] for e in events}, timeout=120)
    ids = [e["id"] for e in all_events(runner)]
    assert all(ids.count(e["id"]) == 1 for e in events)


BAD_REQUESTS = [
    ("missing signature", lambda body, secret: {"signature": ""}, "missing Stripe-Signature"),
    ("wrong secret", lambda body, secret: {"secret": "whsec_wrong"}, "does not match"),
    (
        "stale timestamp",
        lambda body, secret: {"timestamp": int(time.time()) - 301},
        "more than 300 s old",
    ),
    (
        "tampered body",
        lambda body, secret: {"signature": sign(body + b" ", secret)},
        "does not match",
    ),
]


@pytest.mark.parametrize(
    ("case", "options", "problem"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_signatures_are_400_and_leave_the_log_unchanged(
    runner: Any, case: str, options: Any, problem: str
) -> None:
    before = all_events(runner)
    body = json.dumps(
        stripe_event("invoice.paid", {"id": "in_bad", "object": "invoice", "customer": "cus_bad"})
    ).encode()

    response = runner.post_stripe(body, **options(body, runner.webhook_secret))

    assert response.status_code == 400
    assert problem in response.json()["message"]
    assert all_events(runner) == before


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"id": "evt_x"}', "not a Stripe event"),
        (b"\xff\xfe binary", "not UTF-8 text"),
    ],
)
def test_bodies_that_are_not_stripe_events_are_400_and_leave_the_log_unchanged(
    runner: Any, body: bytes, problem: str
) -> None:
    before = all_events(runner)
    response = runner.post_stripe(body)
    assert response.status_code == 400
    assert problem in response.json()["message"]
    assert all_events(runner) == before


def test_the_event_log_filters_by_type_and_status_and_a_binary_safe_body_is_verified(
    runner: Any,
) -> None:
    event = stripe_event(
        "product.created", {"id": "prod_e2e", "object": "product", "name": "Café ☕ \u2028"}
    )
    body = json.dumps(event, ensure_ascii=False, indent=3).encode()
    assert runner.post_stripe(body).status_code == 200

    ignored = runner.wait_for(
        lambda: [
            e
            for e in runner.get(
                "/v1/billing/events", params={"status": "ignored", "type": "product.created"}
            ).json()["events"]
            if e["id"] == event["id"]
        ],
        30,
    )
    assert ignored[0]["type"] == "product.created"
    assert runner.get("/v1/billing/events/evt_unknown").status_code == 404
    assert runner.get("/v1/billing/events", key=None).status_code == 401
