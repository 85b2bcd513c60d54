"""The stack's CloudWatch alarms as alerts, under moto: a notification published to the alarm
topic reaches ``alarm-notifications`` raw, ``alerts-alarms`` records it, and the evaluator
fires the alert on ALARM (delivered to a channel like any other) and resolves it on OK.
Redeliveries and a late, older ALARM change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.alert_receivers import Receivers, receivers
from tests.integration.alerts_harness import Alerts
from tests.integration.conftest import REGION, Aws, LambdaContext, reset_runtime_caches

ALARM = "CognitionOS-BillingEventsDlqDepth"
SECRET = "whsec_alarm_alerts_test_secret_0123"


@pytest.fixture
def alerts(aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch) -> Alerts:
    monkeypatch.setenv("COGNITION_ALLOW_LOOPBACK_TARGETS", "1")
    reset_runtime_caches()
    return Alerts(aws, context)


@pytest.fixture
def hooks() -> Iterator[Receivers]:
    with receivers() as running:
        yield running


def notification(state: str, changed_at: str) -> dict[str, Any]:
    return {
        "AlarmName": ALARM,
        "AlarmDescription": "BillingEventsDlq: messages in a dead-letter queue need an operator",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": changed_at,
        "OldStateValue": "OK" if state == "ALARM" else "ALARM",
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS"},
    }


def publish(message: dict[str, Any]) -> None:
    """As CloudWatch does: to the alarm topic, which the local provisioning made."""
    sns = boto3.client("sns", region_name=REGION)
    [topic] = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("-alarms")
    ]
    sns.publish(TopicArn=topic, Message=json.dumps(message))


def record_alarms(aws: Aws, context: LambdaContext, times: int = 1) -> list[str]:
    """Hand what the queue holds to alerts-alarms ``times`` times (redeliveries); the bodies."""
    from alerts.handlers.alarms import lambda_handler

    from tests.factories import sqs_event

    bodies = [m["Body"] for m in aws.receive("alarm-notifications")]
    for _ in range(times):
        event = sqs_event(bodies, aws.queue_arns["alarm-notifications"])
        assert lambda_handler(event, context) == {"batchItemFailures": []}
    return bodies


def alarm_alerts(alerts: Alerts, status: str) -> list[dict[str, Any]]:
    return [a for a in alerts.alerts(status) if a["rule_id"] == "default-cloudwatch-alarms"]


def test_an_alarm_fires_an_alert_once_reaches_its_channel_and_resolves_on_ok(
    alerts: Alerts, hooks: Receivers, aws: Aws, context: LambdaContext
) -> None:
    alerts.create(
        "/v1/alerts/channels",
        {
            "name": "ops",
            "type": "webhook",
            "config": {"url": f"{hooks.url}/ops", "secret": SECRET},
            "match": {"source": "cloudwatch"},
        },
    )
    publish(notification("ALARM", "2025-05-01T11:03:00.412+0000"))
    [raw] = record_alarms(aws, context, times=2)  # delivered twice
    assert json.loads(raw)["AlarmName"] == ALARM  # raw delivery: no SNS envelope
    assert (alerts.evaluate()["fired"], alerts.evaluate()["fired"]) == (1, 0)
    [alert] = alarm_alerts(alerts, "firing")
    assert alert["labels"] == {"source": "cloudwatch", "alarm": ALARM}
    assert alert["summary"] == f"CloudWatch alarm {ALARM} is in ALARM"
    assert alert["runbook_url"] == "docs/runbooks/cloudwatch-alarms.md"
    alerts.dispatch_until_idle()
    [firing] = hooks.at("/ops")
    assert firing.json()["status"] == "firing"
    assert firing.json()["alert"]["fingerprint"] == alert["fingerprint"]

    publish(notification("OK", "2025-05-01T11:41:00.187+0000"))
    record_alarms(aws, context)
    assert alerts.evaluate()["resolved"] == 1
    alerts.dispatch_until_idle()
    assert [r.json()["status"] for r in hooks.at("/ops")] == ["firing", "resolved"]

    # The first ALARM again, late (SQS is at least once, in no order): still resolved.
    publish(notification("ALARM", "2025-05-01T11:03:00.412+0000"))
    record_alarms(aws, context)
    assert alerts.evaluate()["fired"] == 0
    assert alarm_alerts(alerts, "firing") == []


def test_insufficient_data_changes_nothing_and_a_message_that_is_no_alarm_is_retried(
    alerts: Alerts, aws: Aws, context: LambdaContext
) -> None:
    from alerts.handlers.alarms import lambda_handler

    from tests.factories import sqs_event

    publish(notification("ALARM", "2025-05-01T11:03:00.412+0000"))
    publish(notification("INSUFFICIENT_DATA", "2025-05-01T11:04:00.000+0000"))
    record_alarms(aws, context)
    assert alerts.evaluate()["fired"] == 1

    good = json.dumps(notification("OK", "2025-05-01T11:05:00.000+0000"))
    event = sqs_event([good, '{"AlarmName": "x"}'], aws.queue_arns["alarm-notifications"])
    [failure] = lambda_handler(event, context)["batchItemFailures"]
    assert failure["itemIdentifier"] == event["Records"][1]["messageId"]
