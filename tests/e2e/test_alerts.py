"""Alerting through the local runner, against receivers on loopback that the test starts:
three failed payments fire one alert; the webhook (signed), Slack and PagerDuty receivers
each get it once; acknowledgement and resolution reach PagerDuty with the same dedup_key.
Every alerts route is called here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.alert_receivers import Receivers, receivers, verify_signature
from tests.factories import invoice, stripe_event

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SECRET = "e2e-webhook-signing-secret-0123456789"
ROUTING_KEY = "R0E2EABCDEF0123456789ABCDEF0123"
MATCH = {"team": "e2e"}


@pytest.fixture(scope="module")
def alerts_runner(start_runner: Callable[[str], AbstractContextManager[Any]]) -> Iterator[Any]:
    with start_runner("alerts") as runner:  # an empty store: no other test's failed payments
        yield runner


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receivers]:
    with receivers() as running:
        yield running


def created(runner: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = runner.post(path, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_three_failed_payments_fire_once_and_reach_every_receiver_once(
    alerts_runner: Any, hooks: Receivers
) -> None:
    runner = alerts_runner
    created(
        runner,
        "/v1/alerts/channels",
        {
            "name": "hook",
            "type": "webhook",
            "config": {"url": f"{hooks.url}/hook", "secret": SECRET},
            "match": MATCH,
        },
    )
    created(
        runner,
        "/v1/alerts/channels",
        {"name": "slack", "type": "slack", "config": {"webhook_url": f"{hooks.url}/slack"}},
    )
    created(
        runner,
        "/v1/alerts/channels",
        {
            "name": "pd",
            "type": "pagerduty",
            "config": {"routing_key": ROUTING_KEY, "events_url": f"{hooks.url}/pd"},
            "min_severity": "high",
        },
    )
    refused = runner.post(
        "/v1/alerts/channels",
        json={"name": "x", "type": "slack", "config": {"webhook_url": "http://10.1.2.3/x"}},
    )
    assert refused.status_code == 422 and "not a public address" in refused.json()["message"]
    rule = created(
        runner,
        "/v1/alerts/rules",
        {
            "name": "payments failing",
            "metric": "billing.payments_failed",
            "comparison": ">=",
            "threshold": 3,
            "window_minutes": 60,
            "severity": "high",
            "summary": "{value} payments failed in the last hour",
            "labels": MATCH,
            "runbook_url": "https://wiki.example.com/payments",
        },
    )
    silence = created(
        runner,
        "/v1/alerts/silences",
        {"match": {"team": "someone-else"}, "ends_at": "2099-01-01T00:00:00Z"},
    )
    assert silence["ends_at"] == "2099-01-01T00:00:00Z"

    events = [
        stripe_event("invoice.payment_failed", invoice(f"in_e2e_{n}", "cus_e2e", "open"))
        for n in range(3)
    ]
    for event in [*events, events[0]]:  # one of them delivered twice by Stripe
        assert runner.post_stripe(event).status_code == 200
    runner.wait_for(lambda: _processed(runner, {e["id"] for e in events}), timeout=60)
    job = runner.post("/v1/admin/jobs/alerts-evaluate").json()["summary"]
    again = runner.post("/v1/admin/jobs/alerts-evaluate").json()["summary"]
    assert (job["fired"], again["fired"]) == (1, 0)

    runner.wait_for(lambda: all(hooks.at(p) for p in ("/hook", "/slack", "/pd")), timeout=30)
    [alert] = [
        a
        for a in runner.get("/v1/alerts?status=firing").json()["alerts"]
        if a["rule_id"] == rule["rule_id"]
    ]
    assert alert["summary"] == "3 payments failed in the last hour"
    alert_id, fingerprint = alert["alert_id"], alert["fingerprint"]
    assert runner.post(f"/v1/alerts/{alert_id}/ack").json()["status"] == "acknowledged"
    runner.wait_for(lambda: len(hooks.at("/pd")) == 2, timeout=30)
    assert runner.post(f"/v1/alerts/{alert_id}/resolve").json()["status"] == "resolved"
    runner.wait_for(lambda: len(hooks.at("/pd")) == 3, timeout=30)
    detail = runner.wait_for(
        lambda: _all_sent(runner.get(f"/v1/alerts/{alert_id}").json(), 9), timeout=30
    )

    hook_bodies = hooks.at("/hook")
    assert [r.json()["status"] for r in hook_bodies] == ["firing", "acknowledged", "resolved"]
    assert all(
        verify_signature(SECRET, r.headers["x-cognition-signature"], r.body) for r in hook_bodies
    )
    assert len(hooks.at("/slack")) == 3
    pagerduty = [r.json() for r in hooks.at("/pd")]
    assert [(p["event_action"], p["dedup_key"]) for p in pagerduty] == [
        ("trigger", fingerprint),
        ("acknowledge", fingerprint),
        ("resolve", fingerprint),
    ]
    assert pagerduty[0]["payload"]["severity"] == "error"
    assert {d["event"] for d in detail["deliveries"]} == {"firing", "acknowledged", "resolved"}
    assert runner.get("/v1/alerts/alert_" + "0" * 32).status_code == 404
    resolved = runner.get("/v1/alerts?status=resolved").json()["alerts"]
    assert [a["alert_id"] for a in resolved if a["rule_id"] == rule["rule_id"]] == [alert_id]


def _processed(runner: Any, ids: set[str]) -> bool:
    events = runner.get("/v1/billing/events", params={"limit": 100}).json()["events"]
    done = {e["id"] for e in events if e["status"] == "processed"}
    return ids <= done


def _all_sent(alert: dict[str, Any], count: int) -> dict[str, Any] | None:
    deliveries = alert["deliveries"]
    sent = [d for d in deliveries if d["status"] == "sent"]
    return alert if len(deliveries) == count and len(sent) == count else None


def test_a_cloudwatch_alarm_published_to_the_alarm_topic_fires_and_resolves_an_alert(
    alerts_runner: Any, hooks: Receivers
) -> None:
    """The local runner cannot raise a CloudWatch alarm: publish its notification to the alarm
    topic the runner made in moto, as CloudWatch would (events/sqs/alarm_notifications_batch.json
    holds the same notifications as SQS delivers them)."""
    import json
    from pathlib import Path

    samples = json.loads(
        (Path(__file__).parents[2] / "events/sqs/alarm_notifications_batch.json").read_text()
    )
    alarm, ok = (record["body"] for record in samples["Records"])
    runner = alerts_runner  # its other test's channels may hear this alert too: harmless
    created(
        runner,
        "/v1/alerts/channels",
        {
            "name": "ops",
            "type": "webhook",
            "config": {"url": f"{hooks.url}/ops", "secret": SECRET},
            "match": {"source": "cloudwatch"},
        },
    )
    sns = runner.client("sns")
    [topic] = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("-alarms")
    ]

    def alarm_alerts(status: str) -> list[dict[str, Any]]:
        """Evaluate (as the minute's schedule would), then this alarm's alerts in ``status``;
        the other test's rule may fire again meanwhile, so only these are counted."""
        runner.post("/v1/admin/jobs/alerts-evaluate")
        listed = runner.get(f"/v1/alerts?status={status}").json()["alerts"]
        return [a for a in listed if a["rule_id"] == "default-cloudwatch-alarms"]

    for _ in range(2):  # SNS delivers at least once
        sns.publish(TopicArn=topic, Message=alarm)
    [alert] = runner.wait_for(lambda: alarm_alerts("firing"), timeout=30)
    assert alert["labels"] == {"source": "cloudwatch", "alarm": "CognitionOS-BillingEventsDlqDepth"}
    [firing] = runner.wait_for(lambda: hooks.at("/ops"), timeout=30)
    assert firing.json()["status"] == "firing"
    assert firing.json()["alert"]["alert_id"] == alert["alert_id"]
    sns.publish(TopicArn=topic, Message=ok)
    runner.wait_for(lambda: alarm_alerts("resolved"), timeout=30)
    runner.wait_for(lambda: len(hooks.at("/ops")) == 2, timeout=30)
    assert [r.json()["status"] for r in hooks.at("/ops")] == ["firing", "resolved"]
    assert alarm_alerts("firing") == []  # one alert, though SNS delivered the ALARM twice
