"""Alerting under moto, with receivers on loopback: a rule fires once, every channel hears it
once, acknowledgement and resolution follow; retries, refusals, rate limits and digests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.alert_receivers import Receivers, receivers, verify_signature
from tests.factories import invoice, stripe_event
from tests.integration.alerts_harness import Alerts
from tests.integration.conftest import Aws, LambdaContext, reset_runtime_caches
from tests.integration.test_process_events import ingest, process

SECRET = "whsec_alerts_test_secret_0123456789"


@pytest.fixture
def alerts(aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch) -> Alerts:
    monkeypatch.setenv("COGNITION_ALLOW_LOOPBACK_TARGETS", "1")
    monkeypatch.setenv(
        "ALERTS_RETRY_BASE_S", "0.05"
    )  # backoff is proved in unit tests: keep it short
    monkeypatch.setenv("ALERTS_DIGEST_DELAY_S", "0")
    reset_runtime_caches()
    return Alerts(aws, context)


@pytest.fixture
def hooks() -> Iterator[Receivers]:
    with receivers() as running:
        yield running


def webhook(hooks: Receivers, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": path,
        "type": "webhook",
        "config": {"url": f"{hooks.url}{path}", "secret": SECRET},
        **extra,
    }


def fail_payments(aws: Aws, context: LambdaContext, *invoice_ids: str) -> None:
    """An invoice.payment_failed event per invoice through the webhook and billing-process,
    each delivered twice."""
    events = [
        stripe_event("invoice.payment_failed", invoice(i, status="open")) for i in invoice_ids
    ]
    bodies = ingest(aws, context, *events)
    for _ in range(2):  # a redelivery counts nothing twice
        assert process(aws, context, bodies) == {"batchItemFailures": []}


def test_three_failed_payments_fire_once_and_every_channel_hears_each_event_once(
    alerts: Alerts, hooks: Receivers, aws: Aws, context: LambdaContext
) -> None:
    match = {"team": "payments"}
    alerts.create("/v1/alerts/channels", webhook(hooks, "/hook", match=match))
    alerts.create(
        "/v1/alerts/channels",
        {
            "name": "s",
            "type": "slack",
            "config": {"webhook_url": f"{hooks.url}/slack"},
            "match": match,
        },
    )
    routing_key = "R0ABCDEF0123456789ABCDEF01234567"
    alerts.create(
        "/v1/alerts/channels",
        {
            "name": "pd",
            "type": "pagerduty",
            "config": {"routing_key": routing_key, "events_url": f"{hooks.url}/pd"},
            "match": match,
            "min_severity": "high",
        },
    )
    alerts.create(
        "/v1/alerts/channels",
        {"name": "mail", "type": "email", "config": {"to": ["oncall@example.com"]}, "match": match},
    )
    rule = alerts.create(
        "/v1/alerts/rules",
        {
            "name": "payments failing",
            "metric": "billing.payments_failed",
            "comparison": ">=",
            "threshold": 3,
            "window_minutes": 60,
            "severity": "high",
            "summary": "{value} payments failed",
            "labels": match,
            "runbook_url": "https://wiki.example.com/payments",
        },
    )

    fail_payments(aws, context, "in_1", "in_2")
    assert alerts.evaluate()["fired"] == 0
    fail_payments(aws, context, "in_3")
    first, again = alerts.evaluate(), alerts.evaluate()
    alerts.dispatch_until_idle()

    assert (first["fired"], again["fired"]) == (1, 0)
    [alert] = [a for a in alerts.alerts("firing") if a["rule_id"] == rule["rule_id"]]
    assert alert["summary"] == "3 payments failed"
    [hook] = hooks.at("/hook")
    assert verify_signature(SECRET, hook.headers["x-cognition-signature"], hook.body)
    assert hook.json()["status"] == "firing"
    assert hook.json()["alert"]["alert_id"] == alert["alert_id"]
    [slack] = hooks.at("/slack")
    assert set(slack.json()) == {"text", "blocks"} and "3 payments failed" in slack.json()["text"]
    [pd] = [r.json() for r in hooks.at("/pd")]
    assert (pd["routing_key"], pd["event_action"], pd["dedup_key"]) == (
        routing_key,
        "trigger",
        alert["fingerprint"],
    )
    assert pd["payload"]["severity"] == "error" and pd["payload"]["source"]
    assert pd["links"] == [{"href": "https://wiki.example.com/payments", "text": "Runbook"}]
    assert _emails_sent() == 1

    assert alerts.api("POST", f"/v1/alerts/{alert['alert_id']}/ack")[1]["status"] == "acknowledged"
    assert alerts.api("POST", f"/v1/alerts/{alert['alert_id']}/ack")[0] == 200  # again: no-op
    alerts.dispatch_until_idle()
    resolved = alerts.api("POST", f"/v1/alerts/{alert['alert_id']}/resolve")[1]
    alerts.dispatch_until_idle()

    actions = [(r.json()["event_action"], r.json()["dedup_key"]) for r in hooks.at("/pd")]
    fp = alert["fingerprint"]
    assert actions == [("trigger", fp), ("acknowledge", fp), ("resolve", fp)]
    assert [r.json()["status"] for r in hooks.at("/hook")] == ["firing", "acknowledged", "resolved"]
    assert len(hooks.at("/slack")) == 3 and _emails_sent() == 3
    assert resolved["status"] == "resolved"
    deliveries = alerts.alert(alert["alert_id"])["deliveries"]
    assert len(deliveries) == 12
    assert {(d["status"], d["attempts"]) for d in deliveries} == {("sent", 1)}
    # The condition still holds: the next evaluation fires a new alert, same fingerprint.
    assert alerts.evaluate()["fired"] == 1
    newest = [a for a in alerts.alerts("firing") if a["rule_id"] == rule["rule_id"]]
    assert [a["fingerprint"] for a in newest] == [fp] and newest[0]["alert_id"] != alert["alert_id"]


def _emails_sent() -> int:
    from moto.ses.models import ses_backends

    return sum(len(backend.sent_messages) for backend in ses_backends["123456789012"].values())


def one_alert_rule(alerts: Alerts, team: str, severity: str = "high", name: str = "r") -> str:
    from cognitionos.metrics_store import increment

    increment(f"test.{team}", labels={"team": team})
    rule = alerts.create(
        "/v1/alerts/rules",
        {
            "name": name,
            "metric": f"test.{team}",
            "comparison": ">",
            "threshold": 0,
            "window_minutes": 5,
            "severity": severity,
            "summary": f"{team} {severity}",
        },
    )
    return str(rule["rule_id"])


def test_retries_honour_backoff_and_retry_after_and_a_4xx_is_not_retried(
    alerts: Alerts, hooks: Receivers
) -> None:
    hooks.answer("/flaky", 500, 500)
    hooks.answer("/busy", 429, headers={"Retry-After": "2"})
    hooks.answer("/refuses", 400)
    channels = {
        path: alerts.create("/v1/alerts/channels", webhook(hooks, path))["channel_id"]
        for path in ("/flaky", "/busy", "/refuses")
    }
    one_alert_rule(alerts, "retries")
    alerts.evaluate()

    alerts.dispatch_until_idle()

    assert [r.json()["status"] for r in hooks.at("/flaky")] == ["firing"] * 3  # once delivered
    busy = hooks.at("/busy")
    assert len(busy) == 2 and busy[1].at - busy[0].at >= 2.0
    assert len(hooks.at("/refuses")) == 1
    [alert] = alerts.alerts()
    by_channel = {d["channel_id"]: d for d in alerts.alert(alert["alert_id"])["deliveries"]}
    assert by_channel[channels["/flaky"]] | {"last_error": None} == {
        "channel_id": channels["/flaky"],
        "event": "firing",
        "status": "sent",
        "attempts": 3,
        "last_error": None,
    }
    refused = by_channel[channels["/refuses"]]
    assert (refused["status"], refused["attempts"]) == ("failed", 1)
    assert refused["last_error"].startswith("HTTP 400")
    assert alerts.queue_depth(dlq=True) == 0


def test_the_last_failed_attempt_sends_the_message_to_the_dead_letter_queue(
    alerts: Alerts, hooks: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alerts.handlers.dispatch as dispatch
    from alerts.logic.dispatcher import RetryPolicy

    hooks.answer("/down", 503, 503)
    alerts.create("/v1/alerts/channels", webhook(hooks, "/down"))
    one_alert_rule(alerts, "down")
    alerts.evaluate()
    dispatch.dispatcher().policy = RetryPolicy(max_attempts=2, base_s=0.1, cap_s=0.1)

    alerts.dispatch_until_idle()

    [alert] = alerts.alerts()
    [delivery] = alerts.alert(alert["alert_id"])["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", 2)
    assert delivery["last_error"] == 'gave up after 2 attempts: HTTP 503: {"error":"scripted"}'
    # moto moves it on the receive after its max receives; the queue's is 6, so here it waits
    assert alerts.queue_depth() + alerts.queue_depth(dlq=True) <= 1


def test_fifty_alerts_to_a_channel_limited_to_ten_a_minute_send_ten_and_one_digest(
    alerts: Alerts, hooks: Receivers
) -> None:
    from cognitionos.metrics_store import increment

    alerts.create("/v1/alerts/channels", webhook(hooks, "/limited", rate_limit_per_minute=10))
    for n in range(50):
        increment("test.burst", labels={"n": str(n)})
    alerts.create(
        "/v1/alerts/rules",
        {
            "name": "burst",
            "metric": "test.burst",
            "comparison": ">",
            "threshold": 0,
            "window_minutes": 5,
            "severity": "low",
            "summary": "burst {n}",
        },
    )
    started = time.time()
    assert alerts.evaluate()["fired"] == 50

    alerts.dispatch_until_idle()

    # Ten at once, then one token per 6 s: a loaded machine that takes longer than 6 s to
    # send the burst may send one more single for each 6 s it took, and digest the rest.
    refills = int((time.time() - started) * 10 / 60)
    received = [r.json() for r in hooks.at("/limited")]
    singles = [r["alert"]["alert_id"] for r in received if r["status"] == "firing"]
    digests = [r["digest"] for r in received if r["status"] == "digest"]
    assert 10 <= len(singles) <= 10 + refills and len(digests) == 1
    named = [line["alert_id"] for line in digests[0]["alerts"]]
    assert digests[0]["count"] == 50 - len(singles) == len(named)
    assert sorted(singles + named) == sorted(a["alert_id"] for a in alerts.alerts())
    statuses = [
        alerts.alert(alert_id)["deliveries"][0]["status"] for alert_id in named[:3] + singles[:3]
    ]
    assert statuses == ["digested"] * 3 + ["sent"] * 3


def test_silences_and_inhibition_mute_notifications_but_alerts_still_fire(
    alerts: Alerts, hooks: Receivers
) -> None:
    from cognitionos.metrics_store import increment

    alerts.create("/v1/alerts/channels", webhook(hooks, "/all"))
    alerts.create(
        "/v1/alerts/silences", {"match": {"team": "quiet"}, "ends_at": "2099-01-01T00:00:00Z"}
    )
    one_alert_rule(alerts, "quiet")
    increment("test.shared", labels={"team": "shared"})
    for severity in ("high", "critical"):
        alerts.create(
            "/v1/alerts/rules",
            {
                "name": severity,
                "metric": "test.shared",
                "comparison": ">",
                "threshold": 0,
                "window_minutes": 5,
                "severity": severity,
                "summary": f"shared {severity}",
            },
        )

    summary = alerts.evaluate()
    alerts.dispatch_until_idle()

    assert summary["fired"] == 3 and summary["muted"] == 2
    assert [r.json()["alert"]["summary"] for r in hooks.at("/all")] == ["shared critical"]
    assert sorted(a["summary"] for a in alerts.alerts("firing")) == [
        "quiet high",
        "shared critical",
        "shared high",
    ]


def test_overlapping_evaluations_open_one_alert_per_fingerprint(alerts: Alerts) -> None:
    from alerts.dal.notifications import NotificationQueue
    from alerts.dal.store import AlertStore
    from alerts.logic.evaluator import Evaluator

    from cognitionos.aws import dynamodb_table
    from cognitionos.metrics_store import MetricsStore

    one_alert_rule(alerts, "overlap")
    store = AlertStore(dynamodb_table(alerts.aws.env["ALERTS_TABLE"]))

    class SlowStore(AlertStore):
        """Reads the open alerts as a run that started before the other one finished."""

        def open_alerts(self) -> dict[str, Any]:
            return {}

    runs = [
        Evaluator(
            store=SlowStore(dynamodb_table(alerts.aws.env["ALERTS_TABLE"])),
            queue=NotificationQueue(alerts.aws.env["ALERT_NOTIFICATIONS_QUEUE_URL"]),
            metrics=lambda m, w: MetricsStore(
                dynamodb_table(alerts.aws.env["METRICS_TABLE"])
            ).window(m, w, time.time()),
            clock=time.time,
        )
        for _ in range(2)
    ]
    fired = [run.run([]).fired for run in runs]

    assert fired == [1, 0]
    assert len(store.open_alerts()) == 1 and len(alerts.alerts()) == 1


def test_channel_targets_are_checked_and_secrets_never_stored_in_plaintext(
    alerts: Alerts, hooks: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = alerts.api(
        "POST",
        "/v1/alerts/channels",
        webhook(hooks, "/x")
        | {"config": {"url": "http://169.254.169.254/latest", "secret": SECRET}},
    )
    assert status == 422 and "169.254.169.254" in body["message"]
    created = alerts.create("/v1/alerts/channels", webhook(hooks, "/x"))
    monkeypatch.setenv("COGNITION_ALLOW_LOOPBACK_TARGETS", "0")
    reset_runtime_caches()
    status, body = alerts.api("POST", "/v1/alerts/channels", webhook(hooks, "/y"))
    assert status == 422 and "not a public address" in body["message"]

    raw = boto3.resource("dynamodb", region_name="us-east-1").Table(alerts.aws.env["ALERTS_TABLE"])
    item = raw.get_item(Key={"pk": f"CHANNEL#{created['channel_id']}", "sk": "CHANNEL"})["Item"]
    assert SECRET not in json.dumps(item, default=str) and hooks.url not in json.dumps(
        item, default=str
    )
