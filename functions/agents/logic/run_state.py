"""A run as plain data, and the pure transitions each step applies to it.

Every transition returns the new run and the step messages that follow it (``Followup``).
The data access layer stores both atomically (the run guarded by its revision, the
followups on the step's record), so a step redelivered after a crash sends what it decided
the first time, and the transition that takes the pending count to zero is the only one
whose followups hold the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from agents.logic.code_blocks import CodeValidation
from agents.logic.plan import Task, leaves, ready, sinks, stale_after_feedback, with_parents_settled

RunStatus = Literal[
    "queued",
    "planning",
    "executing",
    "evaluating",
    "succeeded",
    "needs_review",
    "failed",
    "cancelled",
    "budget_exceeded",
]
TERMINAL: frozenset[str] = frozenset(
    {"succeeded", "needs_review", "failed", "cancelled", "budget_exceeded"}
)
ACTIVE: tuple[str, ...] = ("queued", "planning", "executing", "evaluating")
Strategy = Literal["sequential", "parallel"]
StepKind = Literal["plan", "task", "consolidate", "evaluate", "refine", "finish"]
MODEL_STEPS: frozenset[str] = frozenset({"plan", "task", "consolidate", "evaluate"})


@dataclass(frozen=True)
class Followup:
    """One step message to send: the queue body is its fields."""

    step: StepKind
    iteration: int = 0
    task_id: str | None = None
    outcome: RunStatus | None = None  # finish: the status the run ends in

    @property
    def key(self) -> str:
        """The step's record key: one execution per key, whatever the deliveries."""
        if self.step in {"task", "consolidate"}:
            return f"{self.step}#{self.iteration}#{self.task_id}"
        if self.step in ("evaluate", "refine"):
            return f"{self.step}#{self.iteration}"
        return self.step


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_cost_usd: Decimal | None = None
    max_seconds: int | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Run:
    run_id: str
    tenant_id: str | None
    goal: str
    strategy: Strategy
    max_iterations: int
    confidence_threshold: float
    budget: Budget
    created_at: float
    status: RunStatus = "queued"
    tasks: tuple[Task, ...] = ()
    iteration: int = 0  # the round running now; 1 is the first execution of the plan
    iterations: int = 0  # evaluations done
    confidence: float | None = None
    feedback: str | None = None
    concerned: tuple[str, ...] = ()  # the task ids the last evaluation asked to improve
    pending: int = 0  # leaves of this round not yet done: zero means evaluate
    result: str | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    rev: int = 0
    steps: int = 0  # steps applied (plan, tasks, evaluations, ...): the audit entry says
    validate_code: bool = False
    updated_at: float = 0.0  # the last write: for an ended run, when it ended

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def task(self, task_id: str) -> Task | None:
        return next((task for task in self.tasks if task.task_id == task_id), None)


def after_plan(run: Run, tasks: tuple[Task, ...]) -> tuple[Run, list[Followup]]:
    planned = replace(run, tasks=tasks, iteration=1, status="executing")
    planned = replace(planned, pending=len(leaves(planned.tasks)))
    return _start_ready(planned)


def after_task(
    run: Run, task_id: str, validation: CodeValidation | None = None
) -> tuple[Run, list[Followup]]:
    """The task's output is stored: mark it done (with its code validation, when the run
    validates code) and start what it unblocked, or the evaluation when it was the round's
    last."""
    run = _set_status(run, {task_id}, "done", count_round=True)
    if validation is not None:
        tasks = tuple(
            replace(task, validation=validation) if task.task_id == task_id else task
            for task in run.tasks
        )
        run = replace(run, tasks=tasks)
    run = replace(run, pending=run.pending - 1)
    if run.pending == 0:
        return replace(run, status="evaluating"), [Followup("evaluate", run.iteration)]
    return _start_ready(run)


def after_task_failure(run: Run, task_id: str, error: str) -> tuple[Run, list[Followup]]:
    run = _set_status(run, {task_id}, "failed")
    skipped = {task.task_id for task in leaves(run.tasks) if task.status == "pending"}
    run = _set_status(run, skipped, "skipped")
    return replace(run, error=error), [Followup("finish", run.iteration, outcome="failed")]


def after_evaluation(
    run: Run, confidence: float, feedback: str, named: Iterable[str] = ()
) -> tuple[Run, list[Followup]]:
    concerned = tuple(concerned_tasks(run, feedback, named))
    run = replace(
        run,
        iterations=run.iteration,
        confidence=confidence,
        feedback=feedback,
        concerned=concerned,
    )
    if confidence >= run.confidence_threshold:
        return run, [Followup("finish", run.iteration, outcome="succeeded")]
    if run.iteration < run.max_iterations:
        return run, [Followup("refine", run.iteration)]
    return run, [Followup("finish", run.iteration, outcome="needs_review")]


def refine(run: Run) -> tuple[Run, list[Followup]]:
    """The next round: the tasks the feedback concerns, and those downstream, run again."""
    stale = stale_after_feedback(run.tasks, run.concerned)
    run = _set_status(run, stale, "pending")
    run = replace(run, iteration=run.iteration + 1, status="executing", pending=len(stale))
    return _start_ready(run)


def finish(run: Run, outcome: RunStatus, outputs: Mapping[str, str]) -> Run:
    """The run's end: its result is the output of the tasks nothing depends on."""
    result = "\n\n".join(outputs[t.task_id] for t in sinks(run.tasks) if t.task_id in outputs)
    return replace(run, status=outcome, result=result or None)


def concerned_tasks(run: Run, feedback: str, named: Iterable[str] = ()) -> list[str]:
    """The task ids an evaluation is about: those it names, else those its feedback
    mentions; none means the whole plan."""
    ids = {task.task_id for task in run.tasks}
    listed = [task_id for task_id in named if task_id in ids]
    if listed:
        return listed
    return [task.task_id for task in run.tasks if _mentions(feedback, task.task_id)]


def _mentions(text: str, task_id: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(task_id)}(?![\w-])", text) is not None


def _start_ready(run: Run) -> tuple[Run, list[Followup]]:
    candidates = ready(run.tasks)
    if run.strategy == "sequential":
        if any(task.status == "running" for task in leaves(run.tasks)):
            return run, []
        candidates = candidates[:1]
    started = {task.task_id for task in candidates}
    run = _set_status(run, started, "running")
    return run, [Followup("task", run.iteration, task.task_id) for task in candidates]


def _set_status(run: Run, task_ids: set[str], status: str, *, count_round: bool = False) -> Run:
    tasks = tuple(
        replace(task, status=status, rounds=task.rounds + (1 if count_round else 0))  # type: ignore[arg-type]
        if task.task_id in task_ids
        else task
        for task in run.tasks
    )
    return replace(run, tasks=with_parents_settled(tasks))
