"""agent.run.started, .cancelled and .finished: in the run's tenant chain (the operators'
for an operator key's run), once each whatever the deliveries, in the transaction that makes
the change, with plain facts only."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.agents.driver import THREE_TASKS, scripted
from tests.integration.test_audit_log import audit, new_key

TENANT = "cus_AgentAudit"


def run_entries(driver: Any, chain: str, run_id: str) -> list[dict[str, Any]]:
    items = driver.aws.table("audit").query(
        KeyConditionExpression="pk = :c", ExpressionAttributeValues={":c": chain}
    )["Items"]
    return [i for i in items if i["resource"] == f"agent_run:{run_id}"]


def actions(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e["action"]) for e in entries]


@contextmanager
def audit_table_calls() -> Iterator[Counter[str]]:
    """Calls that touch the audit tables, by operation (a transaction counts when one of its
    items does)."""
    from botocore.client import BaseClient

    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if "-audit" in json.dumps(params, default=str):
            calls[operation] += 1
        return original(self, operation, params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_tenants_run_records_started_and_finished_once_even_with_redeliveries(
    agents: Any, seed: int
) -> None:
    driver = agents(scripted(THREE_TASKS, [0.5, 0.9]))
    key = new_key(driver.aws, driver.context, ["agents:run"], tenant=TENANT)
    run_id = driver.start(key=key, strategy="parallel", goal="Launch the secret product")
    driver.drain(duplicate=True, rng=random.Random(seed))
    run = driver.run(run_id)
    assert run["status"] == "succeeded", run

    entries = run_entries(driver, f"tenant:{TENANT}", run_id)
    assert actions(entries) == ["agent.run.started", "agent.run.finished"]
    started, finished = entries
    assert started["actor"] == key.split("_")[1] and started["tenant_id"] == TENANT
    assert started["details"]["strategy"] == "parallel"
    # plan, 3 tasks, evaluation, refine, t3 again, evaluation, finish
    assert finished["actor"] == "agents-step"
    assert finished["details"]["status"] == "succeeded"
    assert finished["details"]["steps"] == 9
    assert finished["details"]["iterations"] == 2
    assert finished["details"]["input_tokens"] == run["usage"]["input_tokens"]
    assert finished["details"]["output_tokens"] == run["usage"]["output_tokens"]
    assert float(finished["details"]["cost_usd"]) == pytest.approx(run["usage"]["cost_usd"])
    text = json.dumps([e["details"] for e in entries], default=str)
    assert "secret product" not in text and "output of" not in text  # no goal, no output


def test_cancelling_twice_records_one_cancellation_and_no_finish(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(strategy="parallel")  # an operator key: the operators' chain
    driver.deliver(driver.pending())  # the plan
    first = driver.api("POST", f"/v1/agents/runs/{run_id}/cancel")
    again = driver.api("POST", f"/v1/agents/runs/{run_id}/cancel")
    driver.drain(duplicate=True)

    assert [status for status, _ in (first, again)] == [202, 202]
    entries = run_entries(driver, "operators", run_id)
    assert actions(entries) == ["agent.run.started", "agent.run.cancelled"]
    cancelled = entries[1]["details"]
    assert (cancelled["status"], cancelled["steps"], cancelled["tasks"]) == ("cancelled", 1, 3)
    assert entries[1]["tenant_id"] is None


def test_a_run_stopped_by_its_budget_records_one_finish(agents: Any) -> None:
    # One call ($0.0021) fits $0.004; reserving a second (about $0.0025) does not.
    driver = agents(scripted(THREE_TASKS, [0.9]), usage=(300, 900))
    run_id = driver.start(budget={"max_cost_usd": 0.004})
    driver.drain(duplicate=True)

    assert driver.run(run_id)["status"] == "budget_exceeded"
    entries = run_entries(driver, "operators", run_id)
    assert actions(entries) == ["agent.run.started", "agent.run.finished"]
    finished = entries[1]["details"]
    assert (finished["status"], finished["steps"]) == ("budget_exceeded", 1)
    assert (finished["input_tokens"], finished["output_tokens"]) == (300, 900)
    assert finished["cost_usd"] == "0.0021"
    assert entries[1]["actor"] == "agents-step"


def test_the_runs_chain_verifies_and_lists_through_the_audit_api(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    key = new_key(driver.aws, driver.context, ["agents:run"], tenant=TENANT)
    reader = new_key(driver.aws, driver.context, ["audit:read"], tenant=TENANT)
    run_id = driver.start(key=key)
    driver.drain()

    status, page = audit(driver.context, "/v1/audit/events", reader)
    assert status == 200
    assert [e["action"] for e in reversed(page["events"])] == [
        "api_key.created",
        "api_key.created",
        "agent.run.started",
        "agent.run.finished",
    ]
    assert page["events"][0]["resource"] == f"agent_run:{run_id}"
    status, verified = audit(driver.context, "/v1/audit/verify", reader)
    assert (status, verified["valid"], verified["checked"]) == (200, True, 4)


def test_only_the_step_that_ends_a_run_touches_the_audit_tables(agents: Any) -> None:
    import cognitionos.audit.store

    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(strategy="sequential")
    cognitionos.audit.store.reset_caches()  # the steps run in another execution environment
    per_step: list[Counter[str]] = []
    while bodies := driver.pending():
        for body in bodies:
            with audit_table_calls() as calls:
                assert not driver.deliver([body])
            per_step.append(calls)

    assert driver.run(run_id)["status"] == "succeeded"
    *before_the_end, last = per_step
    assert all(not calls for calls in before_the_end)  # plan, t1, t2, t3, evaluation
    # The finish step's own transaction carries the entry; this environment has not seen
    # the chain's head (the API moved it with agent.run.started): one read learns it.
    assert last == {"TransactWriteItems": 1, "GetItem": 1}
