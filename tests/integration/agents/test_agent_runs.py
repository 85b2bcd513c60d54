"""Agent runs under moto, step by step: planning, fan-out and fan-in, evaluation and
refinement, budgets, cancel, and redelivery (duplicates and any order change nothing)."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.openai_server import Answer
from tests.integration.agents.driver import MODEL, THREE_TASKS, scripted

PRICE_IN, PRICE_OUT = Decimal(1), Decimal(2)


def cost(input_tokens: int, output_tokens: int) -> float:
    return float((PRICE_IN * input_tokens + PRICE_OUT * output_tokens) / 1_000_000)


def metric_total(driver: Any, name: str) -> float:
    items = driver.aws.table("metrics").query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": name}
    )["Items"]
    return float(sum(item["value"] for item in items))


def test_a_parallel_run_fans_out_its_ready_tasks_and_joins_once(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(strategy="parallel")

    driver.deliver(driver.pending())  # the plan
    fanned_out = driver.pending()
    assert sorted(b.split('"task_id":"')[1][:2] for b in fanned_out) == ["t1", "t2"]
    driver.deliver(fanned_out)
    driver.drain()

    run = driver.run(run_id)
    assert run["status"] == "succeeded", run
    assert [t["status"] for t in run["plan"]] == ["done"] * 3
    assert run["plan"][2]["output"] == "output of t3"
    assert run["result"] == "output of t3"
    assert run["iterations"] == 1 and run["confidence"] == 0.9
    calls = driver.fake.calls
    assert (calls["submit_plan"], calls["submit_task_result"], calls["submit_evaluation"]) == (
        1,
        3,
        1,
    )
    assert run["usage"]["input_tokens"] == 5 * 120
    assert run["usage"]["output_tokens"] == 5 * 40
    assert run["usage"]["cost_usd"] == cost(5 * 120, 5 * 40)
    # what the alert rules read: the same spend, once
    assert metric_total(driver, "agents.cost_usd") == pytest.approx(cost(5 * 120, 5 * 40))
    assert all(body["max_tokens"] == 1024 for body in driver.fake.requests)


def test_a_sequential_run_runs_one_task_at_a_time_in_dependency_order(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start()
    order = []
    for _ in range(20):
        pending = driver.pending()
        if not pending:
            break
        assert len(pending) == 1
        if '"task_id"' in pending[0]:
            order.append(pending[0].split('"task_id":"')[1][:2])
        driver.deliver(pending)
    assert order == ["t1", "t2", "t3"]
    assert driver.run(run_id)["status"] == "succeeded"


def test_low_confidence_refines_the_tasks_the_feedback_names_then_succeeds(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.5, 0.9]))
    run_id = driver.start(strategy="parallel")
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "succeeded" and run["iterations"] == 2, run
    # the feedback names t3: only t3 runs again, with the feedback in its prompt
    assert driver.fake.calls["submit_task_result"] == 4
    retried = driver.fake.bodies("submit_task_result")[-1]["messages"][-1]["content"]
    assert "Feedback on the previous attempt" in retried and "improve t3" in retried


def test_a_run_that_never_reaches_the_threshold_needs_review(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.4]))
    run_id = driver.start(strategy="parallel", max_iterations=2)
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "needs_review" and run["iterations"] == 2, run
    assert driver.fake.calls["submit_evaluation"] == 2


def test_parallel_branches_cannot_reserve_more_than_the_token_budget(agents: Any) -> None:
    def slow(tool: str, body: dict[str, Any]) -> Any:
        answer = scripted(THREE_TASKS, [0.9])(tool, body)
        return Answer(answer, delay_s=0.5) if tool == "submit_task_result" else answer

    driver = agents(slow)
    budget = 2_500  # the plan's reservation (~1,600) and one task's, never two at once
    run_id = driver.start(strategy="parallel", budget={"max_tokens": budget})
    driver.deliver(driver.pending())  # the plan
    tasks = driver.pending()
    assert len(tasks) == 2
    with ThreadPoolExecutor(2) as pool:  # both branches claim while the other is in flight
        failed = [
            body for bodies in pool.map(lambda b: driver.deliver([b]), tasks) for body in bodies
        ]
    driver.deliver(failed)  # a step that failed goes back to the queue, as SQS would
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "budget_exceeded", run
    assert "budget" in run["error"]
    assert run["usage"]["total_tokens"] <= budget
    assert driver.fake.calls["submit_task_result"] == 1
    assert driver.fake.calls["submit_evaluation"] == 0


def test_a_cost_budget_counts_the_reply_cap_at_the_output_rate(agents: Any) -> None:
    # each call costs $0.0021 (300 in at $1/M, 900 out at $2/M); reserving one needs its
    # input and all 1,024 reply tokens at the output rate: about $0.0025
    driver = agents(scripted(THREE_TASKS, [0.9]), usage=(300, 900))
    run_id = driver.start(budget={"max_cost_usd": 0.004})
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "budget_exceeded", run
    assert run["usage"]["cost_usd"] == cost(300, 900) <= 0.004
    assert sum(driver.fake.calls.values()) == 1


def test_a_time_budget_stops_the_run_before_its_next_call(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(budget={"max_seconds": 1})
    time.sleep(1.1)
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "budget_exceeded", run
    assert "time budget" in run["error"]
    assert sum(driver.fake.calls.values()) == 0


def test_cancel_stops_the_run_before_its_next_model_call(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(strategy="parallel")
    driver.deliver(driver.pending())  # the plan
    status, answer = driver.api("POST", f"/v1/agents/runs/{run_id}/cancel")
    assert (status, answer["status"]) == (202, "cancelled")
    driver.drain()
    assert driver.fake.calls["submit_task_result"] == 0
    assert driver.run(run_id)["status"] == "cancelled"


def test_a_plan_with_a_cycle_fails_the_run_naming_it(agents: Any) -> None:
    cyclic = {
        "tasks": [
            {"id": "a", "description": "A", "depends_on": ["b"]},
            {"id": "b", "description": "B", "depends_on": ["a"]},
        ]
    }
    driver = agents(scripted(cyclic, [0.9]))
    run_id = driver.start()
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "failed"
    assert "dependency cycle" in run["error"]
    assert metric_total(driver, "agents.runs_failed") == 1
    assert sum(driver.fake.calls.values()) == 1


@pytest.mark.long
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), duplicate=st.booleans())
def test_redelivered_and_reordered_steps_change_nothing(
    agents: Any, seed: int, duplicate: bool
) -> None:
    driver = agents(scripted(THREE_TASKS, [0.5, 0.9]))
    before = sum(driver.fake.calls.values())
    spent_before = metric_total(driver, "agents.cost_usd")
    run_id = driver.start(strategy="parallel")
    driver.drain(duplicate=duplicate, rng=random.Random(seed))
    run = driver.run(run_id)
    assert run["status"] == "succeeded", run
    # plan, 3 tasks, evaluation, t3 again, evaluation: 7 calls, whatever the deliveries
    assert sum(driver.fake.calls.values()) - before == 7
    assert run["usage"]["input_tokens"] == 7 * 120
    assert run["usage"]["output_tokens"] == 7 * 40
    assert metric_total(driver, "agents.cost_usd") - spent_before == pytest.approx(cost(840, 280))


def test_a_model_answering_the_wrong_task_fails_the_step_naming_it(agents: Any) -> None:
    def answer(tool: str, body: dict[str, Any]) -> dict[str, Any]:
        if tool == "submit_plan":
            return {"tasks": [{"id": "t1", "description": "Do it", "depends_on": []}]}
        return {"task_id": "t9", "output": "wrong"}

    driver = agents(answer)
    run_id = driver.start()
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "failed"
    assert "task_id is 't9'" in run["error"]
    assert run["plan"][0]["status"] == "failed"


def test_model_name_is_sent(agents: Any) -> None:
    driver = agents(scripted(THREE_TASKS, [0.9]))
    driver.start()
    driver.drain()
    assert {body["model"] for body in driver.fake.requests} == {MODEL}


def test_a_tenants_tokens_reach_stripe_meter_events_once_each_call(
    agents: Any, stripe_api: Any
) -> None:
    import secrets as random_secrets

    from billing.handlers.report_usage import lambda_handler as report_usage
    from cognitionos.http import api_key_store
    from tests.factories import sqs_event

    tenant_key = f"cos_{random_secrets.token_hex(8)}_{random_secrets.token_urlsafe(32)}"
    api_key_store().create(
        "tenant", ["agents:run"], "cus_Agents1", "2025-01-01T00:00:00Z", raw_key=tenant_key
    )
    driver = agents(scripted(THREE_TASKS, [0.9]))
    run_id = driver.start(key=tenant_key, strategy="parallel")
    driver.drain(duplicate=True, rng=random.Random(7))
    assert driver.run(run_id)["status"] == "succeeded"

    reports = [m["Body"] for m in driver.aws.receive("usage-reports")]
    assert len(reports) >= 5  # one per call, and again for a redelivered step
    report_usage(sqs_event(reports, driver.aws.queue_arns["usage-reports"]), driver.context)

    events = stripe_api.meter_events
    assert len(events) == 5  # plan, three tasks, evaluation: once each
    assert {e["payload"]["stripe_customer_id"] for e in events} == {"cus_Agents1"}
    assert {e["event_name"] for e in events} == {"cognition_agent_tokens"}
    assert sum(int(e["payload"]["value"]) for e in events) == 5 * (120 + 40)


def chain(length: int) -> dict[str, Any]:
    return {
        "tasks": [
            {"id": f"t{i}", "description": f"Step {i}", "depends_on": [f"t{i - 1}"] if i else []}
            for i in range(length)
        ]
    }


def test_a_history_past_the_window_is_consolidated_then_packed(agents: Any) -> None:
    def arguments(tool: str, body: dict[str, Any]) -> dict[str, Any]:
        if tool == "submit_plan":
            return chain(5)
        if tool == "submit_task_result":
            task_id = scripted(chain(5), [0.9])(tool, body)["task_id"]
            return {"task_id": task_id, "output": f"{task_id} found " + "facts " * 200}
        if tool == "submit_summary":
            return {"summary": "SUMMARY: the early steps found facts"}
        return {"confidence": 0.9, "feedback": "fine"}

    def answer(tool: str, body: dict[str, Any]) -> Answer:
        # a tokenizer's count, about 4 characters a token: what calibration learns from
        sent = sum(len(m["content"]) for m in body["messages"]) + len(json.dumps(body["tools"]))
        return Answer(arguments(tool, body), input_tokens=sent // 4, output_tokens=50)

    driver = agents(answer, COGNITION_LLM_CONTEXT_TOKENS="1024", COGNITION_LLM_MAX_TOKENS="256")
    run_id = driver.start()
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "succeeded", run
    assert driver.fake.calls["submit_summary"] >= 1
    last_task = driver.fake.bodies("submit_task_result")[-1]["messages"][-1]["content"]
    assert "SUMMARY: the early steps found facts" in last_task
    for body in driver.fake.requests:  # every prompt stayed inside 90% of the window
        assert len(body["messages"][-1]["content"]) / 4 + 256 <= 1024 * 0.9


def test_a_tenants_later_run_recalls_what_an_earlier_one_learnt(agents: Any) -> None:
    import secrets as random_secrets

    from cognitionos.http import api_key_store

    def tenant_key(tenant: str) -> str:
        raw = f"cos_{random_secrets.token_hex(8)}_{random_secrets.token_urlsafe(32)}"
        api_key_store().create("t", ["agents:run"], tenant, "2025-01-01T00:00:00Z", raw_key=raw)
        return raw

    def answer(tool: str, body: dict[str, Any]) -> dict[str, Any]:
        if tool == "submit_task_result":
            return {"task_id": "t1", "output": "The launch codeword is PAPAYA."}
        return scripted(
            {"tasks": [{"id": "t1", "description": "Find it", "depends_on": []}]}, [0.9]
        )(tool, body)

    driver = agents(answer)
    first, other = tenant_key("cus_MemA"), tenant_key("cus_MemB")
    driver.start(key=first, goal="Find the launch codeword")
    driver.drain()
    driver.start(key=first, goal="Use the launch codeword in a tweet")
    driver.start(key=other, goal="Use the launch codeword in a tweet")
    driver.drain()
    plans = [b["messages"][-1]["content"] for b in driver.fake.bodies("submit_plan")]
    assert "PAPAYA" not in plans[0]
    assert sum("PAPAYA" in p for p in plans[1:]) == 1  # the same tenant's run only


def test_the_shipped_replay_recording_runs_with_no_model(agents: Any) -> None:
    from pathlib import Path

    recording = Path(__file__).resolve().parents[3] / "events" / "agents" / "replay-run.json"
    driver = agents(
        scripted(THREE_TASKS, [0.9]),
        COGNITION_LLM_PROVIDER="replay",
        COGNITION_LLM_MODEL="replay",
        COGNITION_LLM_REPLAY_FILE=str(recording),
    )
    run_id = driver.start(
        goal="Write a short launch announcement for our new usage-based pricing",
        strategy="parallel",
    )
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "succeeded", run
    assert len(run["plan"]) == 3 and run["result"]
    assert sum(driver.fake.calls.values()) == 0
