"""The model every e2e runner calls: one ``FakeOpenAI`` on loopback for the session, with a
script per run goal, so tests share a runner and still count their own calls.

    script = fake_llm().route("Announce pricing #1", plan=..., confidences=[0.9])
    ... start a run with that goal ...
    script.calls["submit_task_result"]  # this goal's calls only

A goal no test routed (schemathesis' runs) gets a one-task plan and confidence 1.0.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_server import Answer, FakeOpenAI

MODEL = "fake-model"
PRICES = {MODEL: {"input": 1.0, "output": 2.0}}  # USD per million tokens
USAGE = (120, 40)  # what the fake reports for every call
ONE_TASK = {"tasks": [{"id": "t1", "description": "Do it", "depends_on": []}]}


@dataclass
class GoalScript:
    plan: dict[str, Any]
    confidences: list[float]
    task_delay_s: float = 0.0
    # Per task, its outputs round by round (the last one repeats); else "output of <id>".
    outputs: dict[str, list[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    task_calls: list[tuple[str, float, float]] = field(default_factory=list)  # id, start, end
    prompts: list[tuple[str, str]] = field(default_factory=list)  # tool, the user message

    def answer(self, tool: str, body: dict[str, Any]) -> Answer | dict[str, Any]:
        self.calls[tool] += 1
        prompt = body["messages"][-1]["content"]
        self.prompts.append((tool, prompt))
        if tool == "submit_plan":
            return self.plan
        if tool == "submit_task_result":
            task_id = prompt.split("with task_id '", 1)[1].split("'", 1)[0]
            started = time.monotonic()
            time.sleep(self.task_delay_s)
            self.task_calls.append((task_id, started, time.monotonic()))
            rounds = self.outputs.get(task_id) or [f"output of {task_id}"]
            done = sum(1 for call in self.task_calls if call[0] == task_id)
            return {"task_id": task_id, "output": rounds[min(done, len(rounds)) - 1]}
        if tool == "submit_evaluation":
            index = min(self.calls[tool], len(self.confidences)) - 1
            return {"confidence": self.confidences[index], "feedback": "improve t1"}
        return {"summary": "summary"}


class FakeLlm:
    def __init__(self) -> None:
        self._scripts: dict[str, GoalScript] = {}
        self._lock = threading.Lock()
        self.server = FakeOpenAI(self._answer, model=MODEL, usage=USAGE).__enter__()

    def route(
        self,
        goal: str,
        *,
        plan: dict[str, Any] = ONE_TASK,
        confidences: tuple[float, ...] = (0.9,),
        task_delay_s: float = 0.0,
        outputs: dict[str, list[str]] | None = None,
    ) -> GoalScript:
        script = GoalScript(plan, list(confidences), task_delay_s, outputs or {})
        with self._lock:
            self._scripts[goal] = script
        return script

    def env(self) -> dict[str, str]:
        return {
            "COGNITION_LLM_PROVIDER": "openai",
            "COGNITION_LLM_MODEL": MODEL,
            "OPENAI_BASE_URL": self.server.url,
            "COGNITION_LLM_PRICES": json.dumps(PRICES),
        }

    def _answer(self, tool: str, body: dict[str, Any]) -> Answer | dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        goal = prompt.split("Goal: ", 1)[-1].split("\n", 1)[0]
        with self._lock:
            script = self._scripts.get(goal)
        if script is None:
            script = GoalScript(ONE_TASK, [1.0])
        return script.answer(tool, body)


_FAKE: FakeLlm | None = None


def fake_llm() -> FakeLlm:
    """The session's fake model (started on first use, stopped with the process)."""
    global _FAKE  # noqa: PLW0603  # one server per test process, shared by its runners
    if _FAKE is None:
        _FAKE = FakeLlm()
    return _FAKE
