"""Redelivery never sends twice: every (alert, channel, event) is notified exactly once, however
often and in whatever order its messages arrive (the notification log's conditional writes,
on a moto table)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.factories import pk_sk_table

_namespace = itertools.count()


@dataclass(frozen=True)
class Answer:
    status: int | None = 200
    error: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class Channel:
    channel_id: str
    rate_limit_per_minute: int = 1000


class CountingSenders:
    def __init__(self) -> None:
        self.sent: Counter[tuple[str, str, str]] = Counter()

    def notify(self, channel: Channel, event: str, alert: Mapping[str, Any]) -> Answer:
        self.sent[(alert["alert_id"], channel.channel_id, event)] += 1
        return Answer()

    def digest(self, channel: Channel, lines: Sequence[Any]) -> Answer:
        raise AssertionError("nothing is rate limited here")


class Unlimited:
    def try_take(self, channel_id: str, capacity: int, now: float) -> bool:
        return True


@pytest.fixture(scope="module")
def table() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield pk_sk_table(boto3.resource("dynamodb"), "alerts")


notifications = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 2),
        st.sampled_from(["firing", "acknowledged", "resolved"]),
    ),
    min_size=1,
    max_size=8,
    unique=True,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(notifications, st.data())
def test_every_message_delivered_several_times_in_any_order_notifies_once(
    table: Any, chosen: list[tuple[int, int, str]], data: st.DataObject
) -> None:
    from alerts.dal.deliveries import NotificationLog, delivery_key
    from alerts.dal.digests import PendingDigests
    from alerts.logic.dispatcher import Dispatcher, RetryPolicy

    run = next(_namespace)
    senders = CountingSenders()
    dispatcher = Dispatcher(
        log=NotificationLog(table),
        limiter=Unlimited(),
        digests=PendingDigests(table),
        senders=senders,
        schedule_digest=lambda channel_id, delay: None,
        policy=RetryPolicy(6),
        digest_delay_s=0,
        clock=time.time,
    )
    copies = data.draw(st.lists(st.integers(1, 3), min_size=len(chosen), max_size=len(chosen)))
    messages = [m for m, n in zip(chosen, copies, strict=True) for _ in range(n)]
    order = data.draw(st.permutations(messages))

    results = []
    for alert, channel, event in order:
        alert_id, channel_id = f"alert_{run}_{alert}", f"ch_{channel}"
        view = {"alert_id": alert_id, "severity": "high", "summary": "s"}
        key = delivery_key(alert_id, channel_id, event)
        results.append(dispatcher.deliver(view, Channel(channel_id), event, key))

    expected = {(f"alert_{run}_{a}", f"ch_{c}", e) for a, c, e in chosen}
    assert set(senders.sent) == expected and set(senders.sent.values()) == {1}
    assert results.count("sent") == len(chosen)
    assert results.count("duplicate") == len(messages) - len(chosen)
