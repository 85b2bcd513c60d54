"""A run created with ``validate_code``: each task output's Python goes through the six-stage
validator (the code-validate function, invoked through the local runner's Lambda API); its
findings reach the evaluation and the refinement, and fixed code replaces the output."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.fake_llm import fake_llm
from tests.e2e.test_agents import ended, unique_goal

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# Round 1: an unused import (lint removes it) and a shell command built from input (bandit
# B602, high: the security stage fails). Round 2: safe, but unformatted (format fixes it).
UNSAFE = (
    "Here it is:\n\n```python\nimport os\nimport subprocess\n\n\n"
    "def run(cmd: str) -> int:\n    return subprocess.call(cmd, shell=True)\n```\n"
)
SAFE = (
    "Fixed:\n\n```python\nimport subprocess\n\n\n"
    "def run(name: str)->int:\n    return subprocess.call(['ls', '--', name])\n```\n"
)
SAFE_FORMATTED = (
    "Fixed:\n\n```python\nimport subprocess\n\n\n"
    'def run(name: str) -> int:\n    return subprocess.call(["ls", "--", name])\n```\n'
)


def test_findings_reach_the_evaluation_and_the_refinement_and_fixes_replace_the_code(
    runner: Any,
) -> None:
    goal = unique_goal("Write a helper that lists a directory")
    script = fake_llm().route(goal, confidences=(0.5, 0.9), outputs={"t1": [UNSAFE, SAFE]})
    started = runner.post(
        "/v1/agents/runs", json={"goal": goal, "validate_code": True, "max_iterations": 3}
    )
    assert started.status_code == 202, started.text

    run = ended(runner, started.json()["run_id"])

    assert (run["status"], run["iterations"]) == ("succeeded", 2), run
    (task,) = run["plan"]
    assert task["output"] == SAFE_FORMATTED
    assert task["validation"] == {
        "passed": True,
        "blocks": 1,
        "failed_stage": None,
        "findings": [],
        "fixed": True,
    }
    first_evaluation, second_evaluation = [p for t, p in script.prompts if t == "submit_evaluation"]
    assert "import os" not in first_evaluation  # lint's fix replaced the block
    assert "[code validation failed at security, auto-fixed: " in first_evaluation
    # Line 5: the fixed code's, once lint removed the import above it.
    assert "B602 block_1.py:5 subprocess call with shell=True identified" in first_evaluation
    assert "[code validation passed (1 Python block(s), auto-fixed)]" in second_evaluation
    _, refinement = [p for t, p in script.prompts if t == "submit_task_result"]
    assert "Your previous output's code validation failed at security, auto-fixed: " in refinement
    assert "B602 block_1.py:5" in refinement


def test_a_run_without_validate_code_keeps_its_output_as_written(runner: Any) -> None:
    goal = unique_goal("Write a helper, unchecked")
    fake_llm().route(goal, outputs={"t1": [UNSAFE]})
    run = ended(runner, runner.post("/v1/agents/runs", json={"goal": goal}).json()["run_id"])
    (task,) = run["plan"]
    assert (run["status"], task["output"], task["validation"]) == ("succeeded", UNSAFE, None)
