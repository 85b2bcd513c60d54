"""alert.*: what the alerts API creates and what the evaluation fires, acknowledges and
resolves is audited in the operators' chain, once each, with no channel secret."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.integration.alerts_harness import Alerts
from tests.integration.test_alerts_flow import alerts, hooks, one_alert_rule, webhook
from tests.integration.test_audit_log import audit, new_key

__all__ = ["alerts", "hooks"]  # the fixtures, shared with the alerts flow


def operator_entries(alerts: Alerts, prefix: str = "alert") -> list[dict[str, Any]]:
    items = alerts.aws.table("audit").query(
        KeyConditionExpression="pk = :c", ExpressionAttributeValues={":c": "operators"}
    )["Items"]
    return [i for i in items if str(i["action"]).startswith(prefix)]


def admin_key_id(alerts: Alerts) -> str:
    return alerts.aws.admin_key.split("_")[1]


def test_creating_a_channel_a_rule_and_a_silence_records_each_without_secrets(
    alerts: Alerts, hooks: Any
) -> None:
    channel = alerts.create("/v1/alerts/channels", webhook(hooks, "/audited", min_severity="high"))
    rule_id = one_alert_rule(alerts, "audited")
    silence = alerts.create(
        "/v1/alerts/silences",
        {"match": {"team": "audited"}, "ends_at": "2099-01-01T00:00:00Z"},
    )

    entries = operator_entries(alerts)
    assert [(e["action"], e["resource"]) for e in entries] == [
        ("alert.channel.created", f"alert_channel:{channel['channel_id']}"),
        ("alert.rule.created", f"alert_rule:{rule_id}"),
        ("alert.silence.created", f"alert_silence:{silence['silence_id']}"),
    ]
    assert {e["actor"] for e in entries} == {admin_key_id(alerts)}
    assert entries[0]["details"]["type"] == "webhook"
    assert entries[1]["details"]["threshold"] == "0.0"
    assert entries[2]["details"] == {
        "match": {"team": "audited"},
        "ends_at": "2099-01-01T00:00:00Z",
    }
    stored = json.dumps(entries, default=str)
    assert hooks.url not in stored and "whsec_" not in stored  # no URL, no signing secret


def test_a_fired_alert_is_recorded_once_and_each_move_once_however_often_asked(
    alerts: Alerts,
) -> None:
    one_alert_rule(alerts, "moves")
    assert alerts.evaluate()["fired"] == 1
    assert alerts.evaluate()["fired"] == 0  # still firing: the same alert, no new entry
    [alert] = alerts.alerts()
    alert_id = alert["alert_id"]
    for _ in range(2):
        assert alerts.api("POST", f"/v1/alerts/{alert_id}/ack")[0] == 200
    for _ in range(2):
        assert alerts.api("POST", f"/v1/alerts/{alert_id}/resolve")[0] == 200

    entries = [e for e in operator_entries(alerts) if e["resource"] == f"alert:{alert_id}"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("alert.fired", "alerts-evaluate"),
        ("alert.acknowledged", admin_key_id(alerts)),
        ("alert.resolved", admin_key_id(alerts)),
    ]
    assert entries[0]["details"]["severity"] == "high"
    assert entries[0]["details"]["value"] == "1.0"
    assert entries[0]["details"]["fingerprint"] == alert["fingerprint"]


def test_an_alert_whose_condition_clears_is_resolved_by_the_evaluation_once(
    alerts: Alerts,
) -> None:
    from cognitionos.metrics_store import set_gauge

    set_gauge("test.depth", 5)
    alerts.create(
        "/v1/alerts/rules",
        {
            "name": "deep",
            "metric": "test.depth",
            "comparison": ">",
            "threshold": 3,
            "window_minutes": 5,
            "severity": "low",
            "summary": "deep",
        },
    )
    assert alerts.evaluate()["fired"] == 1
    time.sleep(0.01)
    set_gauge("test.depth", 1)
    assert alerts.evaluate()["resolved"] == 1
    assert alerts.evaluate()["resolved"] == 0

    entries = operator_entries(alerts, "alert.")
    moves = [(e["action"], e["actor"]) for e in entries if e["action"] != "alert.rule.created"]
    assert moves == [("alert.fired", "alerts-evaluate"), ("alert.resolved", "alerts-evaluate")]


def test_overlapping_evaluations_record_one_fired_entry(alerts: Alerts) -> None:
    from alerts.dal.notifications import NotificationQueue
    from alerts.dal.store import AlertStore
    from alerts.logic.evaluator import Evaluator

    from cognitionos.audit.store import AuditLog
    from cognitionos.aws import dynamodb_table
    from cognitionos.metrics_store import MetricsStore

    one_alert_rule(alerts, "overlap")
    env = alerts.aws.env

    class SlowStore(AlertStore):
        """Reads the open alerts as a run that started before the other one finished."""

        def open_alerts(self) -> dict[str, Any]:
            return {}

    def environment() -> Evaluator:  # each with its own audit writer, as two Lambdas
        audit_writer = AuditLog(
            dynamodb_table(env["AUDIT_TABLE"]), dynamodb_table(env["AUDIT_HEADS_TABLE"])
        )
        return Evaluator(
            store=SlowStore(dynamodb_table(env["ALERTS_TABLE"]), audit=audit_writer),
            queue=NotificationQueue(env["ALERT_NOTIFICATIONS_QUEUE_URL"]),
            metrics=lambda m, w: MetricsStore(dynamodb_table(env["METRICS_TABLE"])).window(
                m, w, time.time()
            ),
            clock=time.time,
        )

    fired = [environment().run([]).fired for _ in range(2)]

    assert fired == [1, 0]
    assert [e["action"] for e in operator_entries(alerts, "alert.fired")] == ["alert.fired"]


def test_the_operators_chain_with_alert_entries_verifies(alerts: Alerts) -> None:
    reader = new_key(alerts.aws, alerts.context, ["audit:read"])
    one_alert_rule(alerts, "verified")
    alerts.evaluate()
    [alert] = alerts.alerts()
    alerts.api("POST", f"/v1/alerts/{alert['alert_id']}/ack")

    status, page = audit(alerts.context, "/v1/audit/events", reader)
    assert status == 200
    assert [e["action"] for e in reversed(page["events"])] == [
        "api_key.created",
        "alert.rule.created",
        "alert.fired",
        "alert.acknowledged",
    ]
    status, verified = audit(alerts.context, "/v1/audit/verify", reader)
    assert (status, verified["valid"], verified["checked"]) == (200, True, 4)


def test_an_evaluation_touches_the_audit_tables_only_for_what_it_fires_or_resolves(
    alerts: Alerts,
) -> None:
    from tests.integration.agents.test_agent_audit import audit_table_calls

    one_alert_rule(alerts, "counted")
    with audit_table_calls() as firing:
        assert alerts.evaluate()["fired"] == 1
    with audit_table_calls() as quiet:
        assert alerts.evaluate()["fired"] == 0

    assert quiet == {}  # nothing fired or resolved: no audit call at all
    # The alert's own transaction carries the entry; the head this environment wrote with
    # the rule's creation is current, so no read and no retry.
    assert firing == {"TransactWriteItems": 1}
