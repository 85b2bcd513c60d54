"""Agents, alerts, API keys and refused webhooks through the local runner: each action the
API calls cause shows up in GET /v1/audit/events, once, in the right chain."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.e2e.fake_llm import fake_llm
from tests.e2e.test_agents import THREE_TASKS, ended, unique_goal

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def fresh(start_runner: Callable[[str], AbstractContextManager[Any]]) -> Iterator[Any]:
    """A runner of its own: one billing-ingest environment no other test has refused at."""
    with start_runner("audit-wiring") as runner:
        yield runner


def key(runner: Any, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, Any] = {"name": "audit wiring", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    made = runner.post("/v1/api-keys", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["key"])


def events(runner: Any, reader: str, **filters: str) -> list[dict[str, Any]]:
    page = runner.get("/v1/audit/events", key=reader, params={"limit": 100, **filters})
    assert page.status_code == 200, page.text
    return list(reversed(page.json()["events"]))  # oldest first


def test_a_tenants_agent_run_is_started_and_finished_in_its_chain(fresh: Any) -> None:
    tenant = f"cus_AW{secrets.token_hex(5)}"
    runs_key = key(fresh, ["agents:run"], tenant)
    reader = key(fresh, ["audit:read"], tenant)
    goal = unique_goal("Audited launch")
    fake_llm().route(goal, plan=THREE_TASKS)
    run_id = fresh.post("/v1/agents/runs", key=runs_key, json={"goal": goal}).json()["run_id"]
    run = ended(fresh, run_id, key=runs_key)

    mine = events(fresh, reader, resource=f"agent_run:{run_id}")
    assert [e["action"] for e in mine] == ["agent.run.started", "agent.run.finished"]
    assert {e["tenant_id"] for e in mine} == {tenant}
    assert mine[1]["details"]["status"] == run["status"] == "succeeded"
    assert mine[1]["details"]["input_tokens"] == run["usage"]["input_tokens"]
    assert goal not in str(mine)
    verified = fresh.get("/v1/audit/verify", key=reader).json()
    assert verified["valid"] is True


def test_a_cancelled_run_records_one_cancellation(fresh: Any) -> None:
    reader = key(fresh, ["audit:read"])
    goal = unique_goal("Slow audited research")
    script = fake_llm().route(goal, plan=THREE_TASKS, task_delay_s=2.0)
    run_id = fresh.post("/v1/agents/runs", json={"goal": goal}).json()["run_id"]
    fresh.wait_for(lambda: script.calls["submit_task_result"] >= 1, timeout=30)
    for _ in range(2):
        assert fresh.post(f"/v1/agents/runs/{run_id}/cancel").status_code == 202
    assert ended(fresh, run_id)["status"] == "cancelled"

    mine = events(fresh, reader, resource=f"agent_run:{run_id}")
    assert [e["action"] for e in mine] == ["agent.run.started", "agent.run.cancelled"]
    assert mine[0]["tenant_id"] is None  # an operator key's run: the operators' chain


def test_alert_rules_silences_and_an_alerts_moves_are_audited(fresh: Any) -> None:
    reader = key(fresh, ["audit:read"])
    metric = f"e2e.audit_{secrets.token_hex(4)}"  # no data: 0, below the threshold of 1
    rule = fresh.post(
        "/v1/alerts/rules",
        json={
            "name": "audited",
            "metric": metric,
            "comparison": "<",
            "threshold": 1,
            "window_minutes": 5,
            "severity": "low",
            "summary": "nothing seen",
        },
    ).json()
    silence = fresh.post(
        "/v1/alerts/silences",
        json={"match": {"team": "nobody"}, "ends_at": "2099-01-01T00:00:00Z"},
    ).json()
    assert fresh.post("/v1/admin/jobs/alerts-evaluate").json()["summary"]["fired"] >= 1
    [alert] = [
        a
        for a in fresh.get("/v1/alerts", params={"status": "firing"}).json()["alerts"]
        if a["rule_id"] == rule["rule_id"]
    ]
    alert_id = alert["alert_id"]
    for move in ("ack", "ack", "resolve", "resolve"):  # each asked twice
        assert fresh.post(f"/v1/alerts/{alert_id}/{move}").status_code == 200

    assert [
        e["action"] for e in events(fresh, reader, resource=f"alert_rule:{rule['rule_id']}")
    ] == ["alert.rule.created"]
    silenced = events(fresh, reader, resource=f"alert_silence:{silence['silence_id']}")
    assert [e["action"] for e in silenced] == ["alert.silence.created"]
    moves = events(fresh, reader, resource=f"alert:{alert_id}")
    assert [(e["action"], e["actor"] == "alerts-evaluate") for e in moves] == [
        ("alert.fired", True),
        ("alert.acknowledged", False),
        ("alert.resolved", False),
    ]


def test_a_refused_webhook_is_recorded_with_its_count_and_a_revoked_key_once(
    fresh: Any,
) -> None:
    reader = key(fresh, ["audit:read"])
    for _ in range(3):
        refused = fresh.post_stripe({"id": "evt_forged", "type": "invoice.paid"}, secret="whsec_x")
        assert refused.status_code == 400
    [rejected] = events(fresh, reader, action="webhook.rejected")
    assert rejected["details"]["reason"] == "signature_mismatch"
    assert rejected["details"]["count"] == 1  # the next two wait for the next minute's entry
    assert rejected["actor"] == "anonymous"

    victim = key(fresh, ["billing:read"])
    victim_id = victim.split("_")[1]
    for _ in range(2):
        assert fresh.delete(f"/v1/api-keys/{victim_id}").status_code == 200
    keyed = events(fresh, reader, resource=f"api_key:{victim_id}")
    assert [e["action"] for e in keyed] == ["api_key.created", "api_key.revoked"]
    assert fresh.get("/v1/audit/verify", key=reader).json()["valid"] is True
