"""The ``revenue-rollup`` job through its handler, as the schedule runs it, under moto: the
other rollup tests drive ``run_rollup`` directly, so this is where the handler's AWS calls
(and so its role's actions, under the IAM guard) are exercised: the first run (full), a later
one (incremental, one transaction) and a full recompute asked for by an operator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cognitionos.jobs import schedule_event
from tests.factories import stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import ingest, process

DAY = 86400


@pytest.fixture(autouse=True)
def fresh_rollup_settings() -> Iterator[None]:
    from revenue import settings

    settings.rollup_settings.cache_clear()  # this test's tables, not an earlier test's
    yield
    settings.rollup_settings.cache_clear()


def run_job(context: LambdaContext, **detail: Any) -> dict[str, Any]:
    from revenue.handlers.rollup_job import lambda_handler

    event = schedule_event("revenue-rollup")
    event["detail"].update(detail)
    return dict(lambda_handler(event, context))


def apply(aws: Aws, context: LambdaContext, quantity: int, created: int) -> None:
    sub = subscription(sub_id="sub_r", customer="cus_r", quantity=quantity)
    event = "customer.subscription.created" if quantity == 1 else "customer.subscription.updated"
    process(aws, context, ingest(aws, context, stripe_event(event, sub, created=created)))


def test_the_job_rolls_billings_feed_up_first_whole_then_by_change_then_whole_again(
    aws: Aws, context: LambdaContext
) -> None:
    now = int(time.time())
    apply(aws, context, quantity=1, created=now - 40 * DAY)

    first = run_job(context)
    apply(aws, context, quantity=3, created=now - 10 * DAY)
    later = run_job(context)
    recomputed = run_job(context, full_recompute=True)

    assert (first["mode"], first["customers_changed"]) == ("full", 1)
    assert (later["mode"], later["customers_changed"]) == ("incremental", 1)
    assert recomputed["mode"] == "full"
    assert recomputed["horizon"] == later["horizon"]
    state = aws.table("revenue").get_item(Key={"pk": "ROLLUP", "sk": "STATE"})["Item"]
    assert "lease_owner" not in state  # released after each run
