"""AWS calls per alert evaluation and per delivered notification, under moto, with a webhook
receiver on loopback. Evaluations: idle (rules, nothing firing), and one that opens alerts.
Deliveries: warm (the channel's data key cached, as in a warm Lambda), with each rate limiter
store, and a redelivered duplicate."""

from __future__ import annotations

import pytest

from tests.alert_receivers import receivers
from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.integration.alerts_harness import Alerts
from tests.integration.conftest import Aws, LambdaContext, aws, context, reset_runtime_caches  # noqa: F401

RULES = 10
ALERTS = 20


def test_aws_calls_per_evaluation_and_per_notification(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cognitionos.metrics_store import increment

    monkeypatch.setenv("COGNITION_ALLOW_LOOPBACK_TARGETS", "1")
    reset_runtime_caches()
    alerts = Alerts(aws, context)
    with receivers() as hooks:
        alerts.create(
            "/v1/alerts/channels",
            {
                "name": "bench",
                "type": "webhook",
                "config": {"url": f"{hooks.url}/b", "secret": "bench-secret-0123456789"},
                "rate_limit_per_minute": 600,
            },
        )
        for n in range(RULES):
            alerts.create(
                "/v1/alerts/rules",
                {
                    "name": f"r{n}",
                    "metric": f"bench.m{n}",
                    "comparison": ">",
                    "threshold": 0,
                    "window_minutes": 60,
                    "severity": "low",
                    "summary": "bench {n}",
                },
            )
        with count_aws_calls() as idle:
            alerts.evaluate()
        for n in range(ALERTS):
            increment("bench.m0", labels={"n": str(n)})
        with count_aws_calls() as firing:
            alerts.evaluate()
        first = alerts.dispatch_once()  # the first batch unwraps the channel's key (KMS, once)
        with count_aws_calls() as delivered:
            alerts.dispatch_until_idle()
        warm = len(hooks.at("/b")) - first
        assert warm == ALERTS - first > 0
        queue_calls = {k: v for k, v in delivered.items() if k.startswith("sqs.")}
        per_message = {k: round(v / warm, 2) for k, v in delivered.items() if k not in queue_calls}

    report(
        "alerts_aws_calls",
        {
            "rules (10 stored, 7 built in)": RULES + 7,
            "calls per evaluation, nothing firing": sum(idle.values()),
            "idle evaluation, by operation": dict(idle),
            f"calls per evaluation opening {ALERTS} alerts": sum(firing.values()),
            "firing evaluation, by operation": dict(firing),
            "calls per delivered notification (DynamoDB limiter, warm key)": round(
                sum(per_message.values()), 2
            ),
            "per delivered notification, by operation": per_message,
            "queue calls of the harness's polling (Lambda's event source mapping)": queue_calls,
            "per alert opened": "TransactWriteItems + SendMessageBatch + UpdateItem (pending off)",
            "target": "evaluation: 1 query per kind + 1 per rule + 1 per DLQ; notification: <= 5",
        },
    )
