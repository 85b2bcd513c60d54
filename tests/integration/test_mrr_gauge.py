"""``billing.mrr``: billing-process sets each customer's MRR per currency as a gauge, and a rule
over it fires when a customer's MRR drops below a threshold and resolves when it recovers."""

from __future__ import annotations

import time

import pytest

from tests.factories import stripe_event, subscription
from tests.integration.alerts_harness import Alerts
from tests.integration.conftest import Aws, LambdaContext, reset_runtime_caches
from tests.integration.test_process_events import ingest, process


@pytest.fixture
def alerts(aws: Aws, context: LambdaContext) -> Alerts:
    reset_runtime_caches()
    return Alerts(aws, context)


def mrr_series(aws: Aws) -> dict[tuple[str, str], float]:
    from cognitionos.metrics_store import MetricsStore

    store = MetricsStore(aws.table("metrics"))
    return {
        (s.labels["tenant_id"], s.labels["currency"]): s.value
        for s in store.window("billing.mrr", 60, time.time())
    }


def apply(aws: Aws, context: LambdaContext, *events: dict[str, object]) -> list[str]:
    """Each event through the webhook and billing-process, delivered twice; the queued bodies."""
    bodies = ingest(aws, context, *events)
    for _ in range(2):
        assert process(aws, context, bodies) == {"batchItemFailures": []}
    return bodies


def test_mrr_below_a_threshold_fires_per_customer_and_resolves_when_it_recovers(
    alerts: Alerts, aws: Aws, context: LambdaContext
) -> None:
    now = int(time.time())
    started = stripe_event(
        "customer.subscription.created",
        subscription("sub_a", "cus_a", unit_amount=5000),
        created=now - 300,
    )
    bodies = apply(
        aws,
        context,
        started,
        stripe_event(
            "customer.subscription.created",
            subscription("sub_b", "cus_b", unit_amount=3000, quantity=2),
            created=now - 300,
        ),
    )
    assert mrr_series(aws) == {("cus_a", "usd"): 5000, ("cus_b", "usd"): 6000}
    rule = alerts.create(
        "/v1/alerts/rules",
        {
            "name": "key account shrinking",
            "metric": "billing.mrr",
            "comparison": "<",
            "threshold": 1000,
            "window_minutes": 5,
            "severity": "medium",
            "summary": "{tenant_id} MRR {value} {currency}",
            "labels": {"context": "billing"},
        },
    )
    assert alerts.evaluate()["fired"] == 0

    canceled = subscription("sub_a", "cus_a", status="canceled", unit_amount=5000)
    canceled["ended_at"] = now - 200
    apply(aws, context, stripe_event("customer.subscription.deleted", canceled, created=now - 200))
    # The old event redelivered after the cancellation: the gauge stays where it is.
    [started_body] = [b for b in bodies if started["id"] in b]
    assert process(aws, context, [started_body]) == {"batchItemFailures": []}
    assert mrr_series(aws) == {("cus_a", "usd"): 0, ("cus_b", "usd"): 6000}
    assert (alerts.evaluate()["fired"], alerts.evaluate()["fired"]) == (1, 0)
    [alert] = [a for a in alerts.alerts("firing") if a["rule_id"] == rule["rule_id"]]
    assert alert["labels"] == {"context": "billing", "tenant_id": "cus_a", "currency": "usd"}
    assert alert["summary"] == "cus_a MRR 0 usd"

    apply(
        aws,
        context,
        stripe_event(
            "customer.subscription.created",
            subscription("sub_a2", "cus_a", unit_amount=2500),
            created=now - 100,
        ),
    )
    assert mrr_series(aws)[("cus_a", "usd")] == 2500
    assert alerts.evaluate()["resolved"] == 1
    assert alerts.api("GET", f"/v1/alerts/{alert['alert_id']}")[1]["status"] == "resolved"


def test_a_gauge_holds_its_value_past_the_window_and_an_older_reading_never_wins(
    aws: Aws,
) -> None:
    from cognitionos.metrics_store import MetricsStore

    store = MetricsStore(aws.table("metrics"))
    labels = {"tenant_id": "cus_q", "currency": "eur"}
    store.record("gauge", "billing.mrr", 4000, labels, now=1_000_000.0)
    store.record("gauge", "billing.mrr", 9999, labels, now=999_000.0)  # late, older
    hours_later = 1_000_000.0 + 5 * 3600
    assert [s.value for s in store.window("billing.mrr", 60, hours_later)] == [4000]
