"""Agent runs end to end through the local runner, against the session's fake model."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.fake_llm import USAGE, fake_llm

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

THREE_TASKS = {
    "tasks": [
        {"id": "t1", "description": "Draft the headline", "depends_on": []},
        {"id": "t2", "description": "List the pricing tiers", "depends_on": []},
        {"id": "t3", "description": "Write the announcement", "depends_on": ["t1", "t2"]},
    ]
}
ENDED = {"succeeded", "needs_review", "failed", "cancelled", "budget_exceeded"}


def unique_goal(words: str) -> str:
    return f"{words} #{uuid.uuid4().hex[:8]}"


def ended(runner: Any, run_id: str, key: Any = None) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        kwargs = {} if key is None else {"key": key}
        run = runner.get(f"/v1/agents/runs/{run_id}", **kwargs).json()
        return run if run["status"] in ENDED else None

    return dict(runner.wait_for(check, timeout=60))


def step_invocations(runner: Any, run_id: str) -> dict[str, str]:
    """Step key -> the invocation that applied it, from the agents-step log lines."""
    found = {}
    for line in runner.log_path.read_text(errors="replace").splitlines():
        if '"agent step"' not in line or run_id not in line:
            continue
        entry = json.loads(line[line.index("{") :])
        if entry.get("outcome") == "applied":
            found[entry["step"]] = entry["function_request_id"]
    return found


def test_a_parallel_run_runs_its_tasks_as_separate_steps_and_reports_usage(runner: Any) -> None:
    goal = unique_goal("Announce usage-based pricing")
    script = fake_llm().route(goal, plan=THREE_TASKS)
    started = runner.post(
        "/v1/agents/runs", json={"goal": goal, "strategy": "parallel", "max_iterations": 2}
    )
    assert started.status_code == 202
    assert started.json()["status"] == "queued"

    run = ended(runner, started.json()["run_id"])

    assert run["status"] == "succeeded", run
    assert [(t["task_id"], t["status"]) for t in run["plan"]] == [
        ("t1", "done"),
        ("t2", "done"),
        ("t3", "done"),
    ]
    assert run["result"] == "output of t3"
    # each task was its own step: its own message, its own invocation
    steps = step_invocations(runner, run["run_id"])
    assert set(steps) >= {"plan", "task#1#t1", "task#1#t2", "task#1#t3", "evaluate#1"}
    assert len({steps[f"task#1#{t}"] for t in ("t1", "t2", "t3")}) == 3
    calls = sum(script.calls.values())
    assert calls == 5  # plan, three tasks, one evaluation
    assert run["usage"]["input_tokens"] == calls * USAGE[0]
    assert run["usage"]["output_tokens"] == calls * USAGE[1]
    # the price table: $1 per million input tokens, $2 per million output tokens
    assert run["usage"]["cost_usd"] == pytest.approx(calls * (USAGE[0] * 1 + USAGE[1] * 2) / 1e6)


def test_cancel_stops_a_run_before_its_next_model_call(runner: Any) -> None:
    goal = unique_goal("Slow research")
    script = fake_llm().route(goal, plan=THREE_TASKS, task_delay_s=2.0)
    run_id = runner.post("/v1/agents/runs", json={"goal": goal}).json()["run_id"]
    runner.wait_for(lambda: script.calls["submit_task_result"] >= 1, timeout=30)

    cancelled = runner.post(f"/v1/agents/runs/{run_id}/cancel")

    assert cancelled.status_code == 202
    assert cancelled.json() == {"run_id": run_id, "status": "cancelled"}
    run = ended(runner, run_id)
    assert run["status"] == "cancelled"
    # the call in flight finished (and counts); none started after
    runner.wait_for(lambda: len(script.task_calls) == 1, timeout=10)
    assert script.calls["submit_task_result"] == 1
    assert runner.get(f"/v1/agents/runs/{run_id}").json()["usage"]["input_tokens"] > 0


def test_runs_are_private_to_their_tenant_and_need_the_scope(runner: Any) -> None:
    def key(scopes: list[str], tenant: str | None) -> str:
        body: dict[str, Any] = {"name": "agents e2e", "scopes": scopes}
        if tenant:
            body["tenant_id"] = tenant
        return str(runner.post("/v1/api-keys", json=body).json()["key"])

    mine, theirs = key(["agents:run"], "cus_AgentsA"), key(["agents:run"], "cus_AgentsB")
    reader = key(["billing:read"], None)
    goal = unique_goal("Tenant work")
    fake_llm().route(goal)
    run_id = runner.post("/v1/agents/runs", json={"goal": goal}, key=mine).json()["run_id"]

    assert ended(runner, run_id, key=mine)["status"] == "succeeded"
    assert runner.get(f"/v1/agents/runs/{run_id}", key=theirs).status_code == 404
    assert runner.post(f"/v1/agents/runs/{run_id}/cancel", key=theirs).status_code == 404
    assert runner.get(f"/v1/agents/runs/{run_id}", key=reader).status_code == 403
    assert runner.get(f"/v1/agents/runs/{run_id}", key=None).status_code == 401
    assert runner.post("/v1/agents/runs", json={"goal": goal}, key=reader).status_code == 403


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"goal": ""}, "goal"),
        ({"goal": "x", "max_iterations": 6}, "max_iterations"),
        ({"goal": "x", "strategy": "random"}, "strategy"),
        ({"goal": "x", "budget": {"max_tokens": 0}}, "max_tokens"),
        ({"goal": "x", "confidence_threshold": 1.5}, "confidence_threshold"),
        ({"goal": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_run_is_422_naming_the_field(runner: Any, body: dict[str, Any], named: str) -> None:
    answer = runner.post("/v1/agents/runs", json=body)
    assert answer.status_code == 422
    assert named in str(answer.json())


def test_an_unknown_run_is_404(runner: Any) -> None:
    missing = f"run_{'0' * 32}"
    assert runner.get(f"/v1/agents/runs/{missing}").status_code == 404
    assert runner.post(f"/v1/agents/runs/{missing}/cancel").status_code == 404
