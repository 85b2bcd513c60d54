"""What each model step asks: the system prompt, the packed context and the forced tool.

Pure: the step runner gives the run, the memory it loaded and a token counter calibrated
for the model; this returns the ``ModelRequest`` and the memory items left out of it (which
a consolidation step summarises when the whole history would pass the window).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from agents.logic.memory import (
    WINDOW_FILL,
    WORKING_NOTES_TOKENS,
    MemoryItem,
    Packed,
    history_tokens,
    pack,
    truncate,
)
from agents.logic.plan import Task, leaf_dependencies, leaves
from agents.logic.run_state import Run
from agents.models.llm import TOOLS, Message, ModelRequest

SYSTEM = (
    "You are one step of CognitionOS's agent: a careful, concise worker. Answer only by "
    "calling the tool you are given, with arguments that match its schema."
)


@dataclass(frozen=True)
class Prompt:
    request: ModelRequest
    left_out: tuple[MemoryItem, ...] = ()  # memory that did not fit the working notes
    whole_history_tokens: int = 0  # the prompt's tokens had it carried every memory item


@dataclass(frozen=True)
class Window:
    """The model's context window and reply cap, and how to count tokens for it."""

    model: str
    context_tokens: int
    reply_tokens: int
    count: Callable[[str], int]

    @property
    def prompt_budget(self) -> int:
        return int(self.context_tokens * WINDOW_FILL) - self.reply_tokens - self.count(SYSTEM)

    def would_overflow(self, prompt_tokens: int) -> bool:
        """Whether a prompt this large, with its reply, passes 90% of the window."""
        return prompt_tokens + self.reply_tokens > int(self.context_tokens * WINDOW_FILL)


def plan_prompt(run: Run, memory: Sequence[MemoryItem], window: Window) -> Prompt:
    head = (
        f"Goal: {run.goal}\n\nBreak the goal into 2-8 tasks. Give each an id (t1, t2, ...), "
        "a description, and depends_on: the ids whose output it needs. A task may have "
        "subtasks (one level) when it is too large for one step. Call submit_plan."
    )
    return _with_memory(window, "submit_plan", head, memory, run.goal, "What earlier runs learnt")


def task_prompt(
    run: Run,
    task: Task,
    outputs: Mapping[str, str],
    memory: Sequence[MemoryItem],
    window: Window,
) -> Prompt:
    waits = leaf_dependencies(run.tasks).get(task.task_id, frozenset())
    parts = [f"Goal: {run.goal}", f"Your task {task.task_id}: {task.description}"]
    if run.iteration > 1 and run.feedback:
        parts.append(
            f"Feedback on the previous attempt (iteration {run.iteration - 1}): {run.feedback}"
        )
    if run.iteration > 1 and task.validation is not None and not task.validation.passed:
        parts.append(f"Your previous output's {task.validation.summary()}")
    needed = [t for t in leaves(run.tasks) if t.task_id in waits and t.task_id in outputs]
    share = window.prompt_budget // 2 // max(len(needed), 1)
    for dependency in needed:
        text = truncate(outputs[dependency.task_id], share, window.count)
        parts.append(f"Output of {dependency.task_id} ({dependency.description}):\n{text}")
    head = "\n\n".join(parts) + f"\n\nCall submit_task_result with task_id {task.task_id!r}."
    others = [m for m in memory if m.item_id not in {f"output:{t.task_id}" for t in needed}]
    query = f"{task.description} {run.goal}"
    return _with_memory(window, "submit_task_result", head, others, query, "Other notes")


def evaluation_prompt(run: Run, outputs: Mapping[str, str], window: Window) -> Prompt:
    done = [t for t in leaves(run.tasks) if t.task_id in outputs]
    share = window.prompt_budget * 3 // 4 // max(len(done), 1)
    sections = [
        f"{t.task_id} ({t.description}):\n{truncate(outputs[t.task_id], share, window.count)}"
        + (f"\n[{t.validation.summary()}]" if t.validation else "")
        for t in done
    ]
    head = (
        f"Goal: {run.goal}\n\nThe tasks' outputs:\n\n" + "\n\n".join(sections) + "\n\n"
        "How well do these outputs achieve the goal? Call submit_evaluation with a confidence "
        "between 0 and 1 and feedback that names the task ids to improve."
    )
    return Prompt(_request(window, "submit_evaluation", head))


def summary_prompt(run: Run, items: Sequence[MemoryItem], window: Window) -> Prompt:
    share = window.prompt_budget * 3 // 4 // max(len(items), 1)
    notes = "\n\n".join(truncate(item.text, share, window.count) for item in items)
    head = (
        f"Goal: {run.goal}\n\nSummarise these notes, keeping every fact the goal needs, "
        f"in a few sentences. Call submit_summary.\n\n{notes}"
    )
    return Prompt(_request(window, "submit_summary", head))


def _with_memory(  # noqa: PLR0917  # one call per prompt kind, each spelling all six
    window: Window,
    tool: str,
    head: str,
    memory: Sequence[MemoryItem],
    query: str,
    heading: str,
) -> Prompt:
    head = truncate(head, window.prompt_budget * 3 // 4, window.count)
    notes_budget = min(window.prompt_budget - window.count(head), WORKING_NOTES_TOKENS)
    packed: Packed = pack(memory, query, notes_budget, window.count)
    text = head
    if packed.chosen:
        notes = "\n".join(f"- [{item.item_id}] {item.text}" for item in packed.chosen)
        text = f"{head}\n\n{heading}:\n{notes}"
    whole = window.count(SYSTEM) + window.count(head) + history_tokens(memory, window.count)
    return Prompt(_request(window, tool, text), packed.left_out, whole)


def _request(window: Window, tool: str, text: str) -> ModelRequest:
    return ModelRequest(
        model=window.model,
        system=SYSTEM,
        messages=(Message(role="user", content=text),),
        tool=TOOLS[tool],
        max_tokens=window.reply_tokens,
    )
