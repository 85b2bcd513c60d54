"""Agent steps: AWS calls and milliseconds per step without a model (the replay provider,
under moto), the agents-step import against a bare ``import boto3``, and what the memory
tiers save against sending the whole history on a recorded 20-step run."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.fakes.openai_server import Answer
from tests.fresh_interpreter import run_fresh
from tests.integration.agents.conftest import agents  # noqa: F401 (fixture)
from tests.integration.agents.driver import scripted
from tests.integration.conftest import Aws, LambdaContext, aws, context  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "events" / "agents" / "replay-run.json"
GOAL = "Write a short launch announcement for our new usage-based pricing"
RUNS = 5
SAMPLES = 11
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def test_aws_calls_and_ms_per_step_without_a_model(agents: Any, aws: Aws) -> None:  # noqa: F811
    driver = agents(
        scripted({"tasks": []}, [0.9]),
        COGNITION_LLM_PROVIDER="replay",
        COGNITION_LLM_MODEL="replay",
        COGNITION_LLM_REPLAY_FILE=str(RECORDING),
    )
    warm = driver.start(goal=GOAL, strategy="parallel")  # cold caches, keys, imports
    driver.drain()
    assert driver.run(warm)["status"] == "succeeded"
    run_ids = [driver.start(goal=GOAL, strategy="parallel") for _ in range(RUNS)]
    steps, started = 0, time.perf_counter()
    with count_aws_calls() as calls:
        while bodies := driver.pending():
            steps += len(bodies)
            driver.deliver(bodies)
    elapsed = time.perf_counter() - started
    assert all(driver.run(r)["status"] == "succeeded" for r in run_ids)
    table = aws.table("agents")
    started = time.perf_counter()
    for _ in range(200):  # the baseline: one consistent GetItem under the same moto
        table.get_item(Key={"pk": f"RUN#{warm}", "sk": "RUN"}, ConsistentRead=True)
    get_ms = (time.perf_counter() - started) / 200 * 1000
    step_ms = elapsed / steps * 1000
    sqs_reads = calls.pop("sqs.ReceiveMessage", 0) + calls.pop("sqs.DeleteMessage", 0)
    report(
        "agent_steps",
        {
            "runs": RUNS,
            "steps (plan, 3 tasks, evaluate, finish)": steps,
            "AWS calls per step": round(sum(calls.values()) / steps, 2),
            "by operation (per step)": {k: round(v / steps, 2) for k, v in sorted(calls.items())},
            "ms per step (under moto, no model)": round(step_ms, 1),
            "ms per consistent GetItem (baseline)": round(get_ms, 2),
            "step / GetItem": round(step_ms / get_ms, 1),
            "test-side queue reads, not counted": sqs_reads,
        },
    )


def _import_seconds(module: str) -> float:
    return float(run_fresh(PROBE.format(module=module)))


def test_agents_step_import_against_bare_boto3() -> None:
    for module in ("boto3", "agents.handlers.step"):
        _import_seconds(module)
    baseline, step = [], []
    for _ in range(SAMPLES):
        baseline.append(_import_seconds("boto3"))
        step.append(_import_seconds("agents.handlers.step"))
    base_ms, step_ms = statistics.median(baseline) * 1000, statistics.median(step) * 1000
    report(
        "agents_step_cold_start",
        {
            "samples": SAMPLES,
            "import boto3 (median ms)": round(base_ms, 1),
            "import agents.handlers.step (median ms)": round(step_ms, 1),
            "ratio": round(step_ms / base_ms, 2),
            "note": "the provider's SDK loads at the first step: tests/bench/"
            "test_agents_provider_cold_start.py",
        },
    )


STEPS = 20


def chain() -> dict[str, Any]:
    topics = ["pricing", "billing", "churn", "onboarding", "support"]
    return {
        "tasks": [
            {
                "id": f"s{i}",
                "description": f"Research step {i} about {topics[i % 5]}",
                "depends_on": [f"s{i - 1}"] if i else [],
            }
            for i in range(STEPS)
        ]
    }


def test_memory_tiers_against_the_whole_history(agents: Any) -> None:  # noqa: F811
    topics = ["pricing", "billing", "churn", "onboarding", "support"]

    def answer(tool: str, body: dict[str, Any]) -> Answer:
        sent = sum(len(m["content"]) for m in body["messages"]) + len(json.dumps(body["tools"]))
        if tool == "submit_plan":
            arguments: dict[str, Any] = chain()
        elif tool == "submit_task_result":
            task_id = scripted(chain(), [0.9])(tool, body)["task_id"]
            topic = topics[int(task_id[1:]) % 5]
            arguments = {
                "task_id": task_id,
                "output": f"Findings of {task_id} on {topic}: "
                + " ".join(f"{topic} fact {n} about customers." for n in range(60)),
            }
        elif tool == "submit_summary":
            arguments = {"summary": "Earlier findings: facts on pricing, billing and churn."}
        else:
            arguments = {"confidence": 0.9, "feedback": "good"}
        return Answer(arguments, input_tokens=sent // 4, output_tokens=300)

    driver = agents(answer)
    run_id = driver.start(goal="A customer research report", max_iterations=1)
    driver.drain()
    run = driver.run(run_id)
    assert run["status"] == "succeeded"
    outputs = {t["task_id"]: t["output"] for t in run["plan"]}

    tiered = whole = 0
    for body in driver.fake.requests:
        content = body["messages"][-1]["content"]
        sent = (len(body["messages"][0]["content"]) if len(body["messages"]) > 1 else 0) + len(
            content
        )
        tiered += sent // 4
        if "Call submit_task_result with task_id '" in content:
            task_id = content.split("with task_id '", 1)[1].split("'", 1)[0]
            index = int(task_id[1:])
            # the same step sending every earlier output instead of its packed notes
            head = content.split("\n\nOther notes:", 1)[0]
            history = sum(len(outputs[f"s{i}"]) + 12 for i in range(index - 1))
            whole += (len(head) + history) // 4
        elif "submit_summary" not in json.dumps(body["tool_choice"]):
            whole += sent // 4  # plan and evaluation prompts are the same either way
    report(
        "agent_memory_tiers",
        {
            "steps": STEPS,
            "model calls": len(driver.fake.requests),
            "consolidations": driver.fake.calls["submit_summary"],
            "prompt tokens, memory tiers (all calls)": tiered,
            "prompt tokens, whole history": whole,
            "saving": f"{1 - tiered / whole:.0%}",
            "brief's claim": "30%",
            "outcome": run["status"],
        },
    )
