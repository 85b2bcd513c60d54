"""Delivering scripted Stripe events to a local runner as Stripe would, and waiting until the
runner has processed them all (shared by the end-to-end scenario tests)."""

from __future__ import annotations

import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

POST_THREADS = 4
DRAIN_TIMEOUT_S = 240
BILLING_TABLE = "cognitionos-billing"  # the runner's prefix and the topology's table name


@dataclass
class Posted:
    posts: int
    accepted: int  # answered duplicate=false: a new event id
    seconds_to_post: float
    seconds_to_drain: float = 0.0


def post_in_order(runner: Any, events: list[dict[str, Any]]) -> Posted:
    """One at a time, oldest first. (Posting customers side by side is no faster: both
    runners share two cores.)"""
    started = time.monotonic()
    answers = [post_event(runner, event) for event in events]
    return Posted(len(events), answers.count(False), time.monotonic() - started)


def post_concurrently(runner: Any, posts: list[dict[str, Any]], pool: ThreadPoolExecutor) -> Posted:
    """In the given order, ``POST_THREADS`` at a time."""
    lanes = [posts[n::POST_THREADS] for n in range(POST_THREADS)]
    started = time.monotonic()
    answers = [
        a
        for lane in pool.map(lambda lane: [post_event(runner, e) for e in lane], lanes)
        for a in lane
    ]
    return Posted(len(posts), answers.count(False), time.monotonic() - started)


def post_event(runner: Any, event: dict[str, Any]) -> bool:
    """POST one event signed now (its ``created`` stays the scripted time); ``duplicate``."""
    response = runner.post_stripe(json.dumps(event).encode())
    assert response.status_code == 200, response.text
    return bool(response.json()["duplicate"])


def drain(runner: Any, event_ids: set[str], started: float) -> float:
    """Wait until nothing is queued and every one of ``event_ids`` is processed; the
    seconds since ``started``."""

    def drained() -> bool:
        queued = runner.get("/v1/billing/events", params={"status": "queued", "limit": 1})
        if queued.json()["events"]:
            return False
        statuses = event_statuses(runner, event_ids)
        failed = {i: s for i, s in statuses.items() if s["status"] == "failed"}
        assert not failed, f"events failed: {failed}"
        return all(s["status"] == "processed" for s in statuses.values())

    runner.wait_for(drained, timeout=DRAIN_TIMEOUT_S, interval=1.0)
    return time.monotonic() - started


def event_statuses(runner: Any, event_ids: set[str]) -> dict[str, dict[str, Any]]:
    dynamodb = dynamodb_of(runner)
    keys = [{"pk": {"S": f"EVENT#{i}"}, "sk": {"S": "EVENT"}} for i in sorted(event_ids)]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 100):
        request = {
            BILLING_TABLE: {
                "Keys": keys[start : start + 100],
                "ProjectionExpression": "id, #s, #e",
                "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
            }
        }
        while request:
            page = dynamodb.batch_get_item(RequestItems=request)
            for item in page["Responses"].get(BILLING_TABLE, []):
                plain = plain_item(item)
                found[plain["id"]] = plain
            request = page.get("UnprocessedKeys") or {}
    assert set(found) == event_ids, f"not logged: {sorted(event_ids - set(found))[:5]}"
    return found


@functools.cache
def dynamodb_of(runner: Any) -> Any:
    return runner.client("dynamodb")


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}
