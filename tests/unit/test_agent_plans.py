"""Plans: validation, readiness, subtasks, refinement's stale set, and the run's transitions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.logic import run_state
from agents.logic.plan import PlanError, parse_plan, ready, sinks, stale_after_feedback
from agents.logic.run_state import Budget, Run


def plan(*tasks: tuple[str, list[str]], **subtasks: list[tuple[str, list[str]]]) -> Any:
    return {
        "tasks": [
            {
                "id": task_id,
                "description": f"do {task_id}",
                "depends_on": deps,
                "subtasks": [
                    {"id": s, "description": f"do {s}", "depends_on": d}
                    for s, d in subtasks.get(task_id, [])
                ],
            }
            for task_id, deps in tasks
        ]
    }


def a_run(strategy: str = "parallel", max_iterations: int = 3, **kw: Any) -> Run:
    return Run("run_" + "0" * 32, None, "goal", strategy, max_iterations, 0.8, Budget(), 0.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tasks": []}, "tasks must be a non-empty list"),
        (plan(("a", ["b"])), "depends on unknown task 'b'"),
        (plan(("a", ["a"])), "depends on itself"),
        (plan(("a", []), ("a", [])), "task id 'a' is used twice"),
        (plan(("a", ["c"]), ("b", ["a"]), ("c", ["b"])), "dependency cycle"),
        (plan(*[(f"t{i}", []) for i in range(21)]), "at most 20"),
        ({"tasks": [{"id": "a", "description": "", "depends_on": []}]}, "description"),
    ],
)
def test_a_plan_that_cannot_run_is_refused_naming_why(arguments: Any, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_plan(arguments)


def test_a_dependency_on_a_parent_waits_for_all_its_subtasks() -> None:
    tasks = parse_plan(plan(("a", []), ("b", ["a"]), a=[("a1", []), ("a2", ["a1"])]))
    assert [t.task_id for t in ready(tasks)] == ["a1"]
    run, followups = run_state.after_plan(a_run(), tasks)
    assert [f.task_id for f in followups] == ["a1"]
    run, followups = run_state.after_task(run, "a1")
    assert [f.task_id for f in followups] == ["a2"]
    assert run.task("a").status == "running"  # type: ignore[union-attr]
    run, followups = run_state.after_task(run, "a2")
    assert run.task("a").status == "done"  # type: ignore[union-attr]
    assert [f.task_id for f in followups] == ["b"]
    run, followups = run_state.after_task(run, "b")
    assert followups == [run_state.Followup("evaluate", 1)]
    assert [t.task_id for t in sinks(run.tasks)] == ["b"]


def test_subtasks_of_subtasks_are_refused() -> None:
    arguments = {
        "tasks": [
            {
                "id": "a",
                "description": "A",
                "depends_on": [],
                "subtasks": [{"id": "b", "description": "B", "subtasks": [{"id": "c"}]}],
            }
        ]
    }
    with pytest.raises(PlanError, match="only one level"):
        parse_plan(arguments)


def test_feedback_reruns_the_named_task_and_everything_downstream() -> None:
    tasks = parse_plan(plan(("a", []), ("b", ["a"]), ("c", []), ("d", ["b", "c"])))
    assert stale_after_feedback(tasks, ["b"]) == {"b", "d"}
    assert stale_after_feedback(tasks, []) == {"a", "b", "c", "d"}


def test_evaluation_decides_finish_refine_or_review() -> None:
    run = a_run(iteration=1, max_iterations=2)
    assert run_state.after_evaluation(run, 0.9, "good")[1][0].outcome == "succeeded"
    refined = run_state.after_evaluation(run, 0.5, "fix")[1][0]
    assert refined.step == "refine"
    last = a_run(iteration=2, max_iterations=2)
    assert run_state.after_evaluation(last, 0.5, "fix")[1][0].outcome == "needs_review"


@st.composite
def dags(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.integers(1, 8))
    return plan(
        *[
            (
                f"t{i}",
                draw(st.lists(st.sampled_from([f"t{j}" for j in range(i)]), unique=True))
                if i
                else [],
            )
            for i in range(size)
        ]
    )


@given(dags(), st.sampled_from(["sequential", "parallel"]), st.randoms())
def test_any_completion_order_runs_each_task_once_and_joins_once(
    arguments: dict[str, Any], strategy: str, rng: Any
) -> None:
    run, running = run_state.after_plan(a_run(strategy), parse_plan(arguments))
    started = [f.task_id for f in running]
    evaluations = 0
    while running:
        finished = running.pop(rng.randrange(len(running)))
        run, followups = run_state.after_task(run, str(finished.task_id))
        for followup in followups:
            if followup.step == "evaluate":
                evaluations += 1
            else:
                started.append(followup.task_id)
                running.append(followup)
        if strategy == "sequential":
            assert len(running) <= 1
    assert sorted(started) == sorted(t["id"] for t in arguments["tasks"])
    assert evaluations == 1 and run.pending == 0


def test_usage_defaults_are_exact_decimals() -> None:
    assert a_run().usage.cost_usd == Decimal(0)
