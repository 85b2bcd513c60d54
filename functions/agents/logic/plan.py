"""A run's plan: tasks with dependencies, one level of subtasks, and which task runs next.

Pure rules over plain data. A plan is validated once, when the model submits it; after that
every step asks this module which leaf tasks are ready, which ones a piece of feedback makes
stale, and what a parent's status is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from agents.logic.code_blocks import CodeValidation

TaskStatus = Literal["pending", "running", "done", "failed", "skipped"]
MAX_TASKS = 20  # leaves and parents together: bounds a run's item and its cost
MAX_DESCRIPTION = 2_000


class PlanError(ValueError):
    """The submitted plan cannot run; the message names the task and the rule it breaks."""


@dataclass(frozen=True)
class Task:
    task_id: str
    description: str
    depends_on: tuple[str, ...] = ()
    parent: str | None = None
    status: TaskStatus = "pending"
    rounds: int = 0  # how many times it has run (refinements run it again)
    validation: CodeValidation | None = None  # its latest output's, when the run validates code

    @property
    def is_subtask(self) -> bool:
        return self.parent is not None


def parse_plan(arguments: Mapping[str, Any]) -> tuple[Task, ...]:
    """The tasks of a ``submit_plan`` call, in plan order (each parent before its subtasks).

    Raises PlanError for an empty plan, a duplicate or unknown id, a subtask of a subtask,
    a dependency cycle, or too many tasks.
    """
    raw_tasks = arguments.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise PlanError("submit_plan: tasks must be a non-empty list")
    tasks: list[Task] = []
    for index, raw in enumerate(raw_tasks):
        parent = _task(raw, f"tasks[{index}]", None)
        tasks.append(parent)
        tasks.extend(_subtasks(raw, index, parent.task_id))
    if len(tasks) > MAX_TASKS:
        raise PlanError(f"submit_plan: {len(tasks)} tasks; a plan has at most {MAX_TASKS}")
    _check_ids(tasks)
    cycle = _cycle(tasks)
    if cycle:
        raise PlanError("submit_plan: dependency cycle " + " -> ".join(cycle))
    return tuple(tasks)


def _subtasks(raw: Mapping[str, Any], index: int, parent_id: str) -> list[Task]:
    subtasks = raw.get("subtasks") or []
    if not isinstance(subtasks, list):
        raise PlanError(f"submit_plan: tasks[{index}].subtasks must be a list")
    found = []
    for sub_index, sub in enumerate(subtasks):
        where = f"tasks[{index}].subtasks[{sub_index}]"
        if isinstance(sub, Mapping) and sub.get("subtasks"):
            raise PlanError(f"submit_plan: {where} has subtasks; only one level is allowed")
        found.append(_task(sub, where, parent_id))
    return found


def _check_ids(tasks: Sequence[Task]) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.task_id in seen:
            raise PlanError(f"submit_plan: task id {task.task_id!r} is used twice")
        seen.add(task.task_id)
    for task in tasks:
        for dependency in task.depends_on:
            if dependency not in seen:
                raise PlanError(
                    f"submit_plan: task {task.task_id!r} depends on unknown task {dependency!r}"
                )
            if dependency == task.task_id:
                raise PlanError(f"submit_plan: task {task.task_id!r} depends on itself")


def _task(raw: Any, where: str, parent: str | None) -> Task:
    if not isinstance(raw, Mapping):
        raise PlanError(f"submit_plan: {where} must be an object")
    task_id, description, depends_on = raw.get("id"), raw.get("description"), raw.get("depends_on")
    if not isinstance(task_id, str) or not task_id.strip() or len(task_id) > 64:
        raise PlanError(f"submit_plan: {where}.id must be a string of 1-64 characters")
    if not isinstance(description, str) or not description.strip():
        raise PlanError(f"submit_plan: {where}.description must be a non-empty string")
    if depends_on is None:
        depends_on = []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise PlanError(f"submit_plan: {where}.depends_on must be a list of task ids")
    return Task(
        task_id.strip(),
        description.strip()[:MAX_DESCRIPTION],
        tuple(dict.fromkeys(d.strip() for d in depends_on)),
        parent,
    )


def leaf_dependencies(tasks: Sequence[Task]) -> dict[str, frozenset[str]]:
    """Leaf id -> the leaves it waits for. A dependency on a parent is one on all its
    subtasks; a subtask also waits for whatever its parent waits for."""
    by_id = {task.task_id: task for task in tasks}
    children: dict[str, list[str]] = {}
    for task in tasks:
        if task.parent:
            children.setdefault(task.parent, []).append(task.task_id)

    def leaves_of(task_id: str) -> set[str]:
        return set(children.get(task_id, [task_id]))

    waits: dict[str, frozenset[str]] = {}
    for task in tasks:
        if task.task_id in children:
            continue  # a parent runs no call of its own
        direct = list(task.depends_on)
        if task.parent:
            direct += list(by_id[task.parent].depends_on)
        found: set[str] = set()
        for dependency in direct:
            found |= leaves_of(dependency)
        found.discard(task.task_id)
        waits[task.task_id] = frozenset(found)
    return waits


def _cycle(tasks: Sequence[Task]) -> list[str]:
    """A dependency cycle among the leaves (parents expanded), as ids, or []."""
    graph = leaf_dependencies(tasks)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dependency in sorted(graph.get(node, ())):
            if state.get(dependency) == 1:
                return [*path[path.index(dependency) :], dependency]
            if state.get(dependency) is None:
                found = visit(dependency)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for task_id in graph:
        if state.get(task_id) is None:
            found = visit(task_id)
            if found:
                return found
    return []


def leaves(tasks: Sequence[Task]) -> list[Task]:
    parents = {task.parent for task in tasks if task.parent}
    return [task for task in tasks if task.task_id not in parents]


def ready(tasks: Sequence[Task]) -> list[Task]:
    """Pending leaves whose dependencies are all done, in plan order."""
    status = {task.task_id: task.status for task in tasks}
    waits = leaf_dependencies(tasks)
    return [
        task
        for task in leaves(tasks)
        if task.status == "pending" and all(status[d] == "done" for d in waits[task.task_id])
    ]


def with_parents_settled(tasks: Sequence[Task]) -> tuple[Task, ...]:
    """Each parent's status follows its subtasks: done when all are, failed when one is,
    running while any runs or is done, else pending."""
    children: dict[str, list[Task]] = {}
    for task in tasks:
        if task.parent:
            children.setdefault(task.parent, []).append(task)
    settled = []
    for original in tasks:
        task = original
        subs = children.get(task.task_id)
        if subs:
            statuses = {sub.status for sub in subs}
            status: TaskStatus
            if statuses == {"done"}:
                status = "done"
            elif "failed" in statuses:
                status = "failed"
            elif statuses & {"running", "done"}:
                status = "running"
            else:
                status = "pending"
            task = replace(task, status=status, rounds=max(sub.rounds for sub in subs))
        settled.append(task)
    return tuple(settled)


def stale_after_feedback(tasks: Sequence[Task], concerned: Iterable[str]) -> set[str]:
    """The leaves to run again: those the feedback concerns (a parent means all its
    subtasks) and every leaf downstream of them, whose input would change."""
    waits = leaf_dependencies(tasks)
    children: dict[str, set[str]] = {}
    for task in tasks:
        if task.parent:
            children.setdefault(task.parent, set()).add(task.task_id)
    stale: set[str] = set()
    for task_id in concerned:
        stale |= children.get(task_id, {task_id} if task_id in waits else set())
    if not stale:
        stale = set(waits)  # feedback about no task in particular: the whole plan again
    changed = True
    while changed:
        changed = False
        for leaf, dependencies in waits.items():
            if leaf not in stale and dependencies & stale:
                stale.add(leaf)
                changed = True
    return stale


def sinks(tasks: Sequence[Task]) -> list[Task]:
    """The leaves nothing waits for: their outputs are the run's result."""
    waits = leaf_dependencies(tasks)
    needed = set().union(*waits.values()) if waits else set()
    return [task for task in leaves(tasks) if task.task_id not in needed]
