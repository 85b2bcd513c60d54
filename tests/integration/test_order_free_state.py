"""Property: events applied in any order, with any duplicates, end in the newest state.

Ties on ``created`` are left out here: breaking them is the billing engine's precedence rule.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import process, status_of, stored
from tests.integration.test_stripe_webhook import post_webhook

STATUSES = ["incomplete", "trialing", "active", "past_due", "canceled"]
_sub_ids = itertools.count()


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    """A subscription's events with distinct ``created``, and a delivery order with repeats."""
    sub_id = f"sub_prop{next(_sub_ids)}"
    n = draw(st.integers(min_value=1, max_value=6))
    times = sorted(draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True)))
    events = [
        stripe_event(
            "customer.subscription.updated",
            subscription(
                sub_id=sub_id,
                customer=f"cus_{sub_id}",
                status=draw(st.sampled_from(STATUSES)),
                quantity=q,
            ),
            created=t,
        )
        for q, t in enumerate(times, start=1)
    ]
    deliveries = draw(
        st.lists(st.integers(0, n - 1), min_size=n, max_size=3 * n).map(lambda d: [*range(n), *d])
    )
    return events, draw(st.permutations(deliveries))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories())
def test_any_order_with_duplicates_ends_in_the_newest_version(
    aws: Aws, context: LambdaContext, history: tuple[list[dict[str, Any]], list[int]]
) -> None:
    events, order = history
    from tests.factories import sign
    from tests.integration.conftest import WEBHOOK_SECRET

    for index in order:
        body = json.dumps(events[index])
        post_webhook(body, sign(body, WEBHOOK_SECRET), context)
        for message in aws.receive("billing-events"):
            assert process(aws, context, [message["Body"]]) == {"batchItemFailures": []}

    newest = events[-1]
    sub = stored(aws, "subscription", newest["data"]["object"]["id"])
    assert sub is not None
    assert (sub["version_event"], sub["status"], sub["items"][0]["quantity"]) == (
        newest["id"],
        newest["data"]["object"]["status"],
        len(events),
    )
    assert {status_of(aws, e["id"]) for e in events} == {"processed"}
