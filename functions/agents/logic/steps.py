"""Executing one step of a run: claim, reserve, call, store, apply, send. Once each.

The order is what makes redelivery safe:

1. A model step is claimed together with its budget reservation (one transaction), so a
   duplicate delivery cannot call the model a second time and parallel branches can never
   reserve more than the budget holds.
2. The model's raw reply is stored before anything acts on it; a redelivered step replays
   it instead of calling again.
3. The run's transition, the settled usage and the step's followups are written in one
   transaction guarded by the run's revision; the transition that takes the round's pending
   count to zero is the only one whose followups hold the evaluation.
4. The followups are sent, then the step is marked done. A crash between 3 and 4 resends
   them on redelivery; their own claims make the copies harmless.

The ports (store, memory, provider, queue, usage) are passed in; ``handlers/step.py`` wires
the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from agents.dal.runs import RunMoved, RunStore, StepRecord
from agents.logic import run_audit, run_state
from agents.logic.code_blocks import CodeValidation, apply_validation, code_files
from agents.logic.memory import MemoryItem
from agents.logic.plan import PlanError, parse_plan
from agents.logic.pricing import Price, cost_usd, max_cost_usd
from agents.logic.prompts import (
    Prompt,
    Window,
    evaluation_prompt,
    plan_prompt,
    summary_prompt,
    task_prompt,
)
from agents.logic.run_state import Followup, Run, Usage
from agents.logic.tokens import Calibration, estimate_tokens, request_chars
from agents.models.llm import TOOLS, Message, ModelReply, ModelRequest, ToolCallError

MAX_APPLY_ATTEMPTS = 20  # parallel branches move the run; each retry re-reads it
RESERVE_MARGIN = 1.15  # the input estimate, padded: calibration errs, budgets must not


class ModelPort(Protocol):
    name: str

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply: ...

    def replay(self, request: ModelRequest, raw: dict[str, Any]) -> ModelReply: ...


class MemoryPort(Protocol):
    def run_memory(self, run: Run, outputs: dict[str, str]) -> list[MemoryItem]: ...

    def tenant_memory(self, run: Run) -> list[MemoryItem]: ...

    def add_summary(self, run: Run, key: str, summary: str, covers: tuple[str, ...]) -> None: ...

    def remember_run(self, run: Run) -> None: ...

    def calibration(self, model: str) -> Calibration: ...

    def calibrate(self, model: str, prompt_chars: int, input_tokens: int) -> None: ...


class RunMissing(LookupError):
    """A step names a run that is not (yet) stored: SQS retries, then the DLQ keeps it."""


class NoTimeLeft(RuntimeError):
    """Too little of this invocation is left for the call: the step is retried later."""


@dataclass(frozen=True)
class StepConfig:
    model: str
    context_tokens: int
    reply_tokens: int
    lease_s: float  # longer than the function's timeout: a live claim is never taken over
    min_call_s: float = 5.0


@dataclass
class StepRunner:
    store: RunStore
    memory: MemoryPort
    model: ModelPort
    price: Callable[[str], Price]
    send: Callable[[str, list[Followup]], None]
    record_usage: Callable[[Run, str, int], None]
    on_finish: Callable[[Run], None]
    on_spent: Callable[[Run, Usage], None]  # once per call, after its usage is settled
    config: StepConfig
    clock: Callable[[], float]
    remaining_s: Callable[[], float]
    # The code validator (files -> its result); only runs created with validate_code use it.
    validate_code: Callable[[dict[str, str]], Mapping[str, Any]] | None = None

    def execute(self, run_id: str, followup: Followup) -> str:
        """Run the step once; the outcome names what happened (for logs and metrics)."""
        run = self.store.get(run_id)
        if run is None:
            raise RunMissing(f"run {run_id} is not stored")
        key = followup.key
        record = self.store.step(run_id, key)
        if record is not None and record.status == "done":
            return "duplicate"
        if record is not None and record.status == "applied":
            self._send(run_id, key, list(record.followups))
            return "resent"
        if followup.step in run_state.MODEL_STEPS:
            return self._model_step(run, followup, record)
        return self._plain_step(run, followup)

    # --- model steps -------------------------------------------------------------------

    def _model_step(self, run: Run, followup: Followup, record: StepRecord | None) -> str:
        key = followup.key
        if record is not None and record.status == "claimed" and run.terminal:
            # The run ended while the claim's Lambda died: no call, the reservation back.
            self.store.reclaim(run.run_id, key, self.config.lease_s)
            self.store.store_answer(run, key, {"tool": "", "reply": None}, "the run had ended")
            record = replace(record, status="answered", error="the run had ended")
            return self._apply_answer(run, followup, record, {})
        if record is None or record.status == "claimed":
            if run.terminal:
                return "run_ended"
            if not self._current(run, followup):
                return "stale"
            prompt = self._prompt(run, followup)
            if prompt is None:
                return "consolidating"
            if record is None:
                tokens, cost = self._reservation(prompt.request)
                refused = self.store.claim(
                    run,
                    key,
                    tokens=tokens,
                    cost=cost,
                    lease_s=self.config.lease_s,
                    status_on_claim="planning" if followup.step == "plan" else None,
                )
                if refused is not None:
                    return self._refused(run, refused.reason, tokens, cost)
                record = StepRecord(key, "claimed", reserved_tokens=tokens, reserved_cost=cost)
            else:
                self.store.reclaim(run.run_id, key, self.config.lease_s)  # StepTaken if live
            reply, error = self._call(run, prompt.request)
            raw: dict[str, Any] = {
                "tool": prompt.request.tool.name,
                "reply": reply.raw if reply else None,
            }
            if reply is not None:
                raw["usage"] = [reply.input_tokens, reply.output_tokens]
                self.memory.calibrate(
                    self.config.model, request_chars(prompt.request), reply.input_tokens
                )
            self.store.store_answer(run, key, raw, error)
            record = replace(record, status="answered", error=error)
            answer: dict[str, Any] | None = raw
        else:
            answer = self.store.answer_of(run, record)
        return self._apply_answer(run, followup, record, answer or {})

    def _call(self, run: Run, request: ModelRequest) -> tuple[ModelReply | None, str | None]:
        left = self.remaining_s() - 3
        if run.budget.max_seconds is not None:
            left = min(left, run.created_at + run.budget.max_seconds - self.clock())
        if left < self.config.min_call_s:
            raise NoTimeLeft(f"{left:.1f} s left for a model call")
        try:
            return self.model.call(request, timeout_s=left), None
        except ToolCallError as bad:
            return None, bad.message

    def _apply_answer(
        self, run: Run, followup: Followup, record: StepRecord, answer: dict[str, Any]
    ) -> str:
        reply = None
        error = record.error
        if answer.get("reply") is not None and error is None:
            request = self._replay_request(answer["tool"])
            try:
                reply = self.model.replay(request, answer["reply"])
            except ToolCallError as bad:
                error = bad.message
        spent = Usage()
        if reply is not None:
            spent = Usage(
                reply.input_tokens,
                reply.output_tokens,
                cost_usd(self.price(self.config.model), reply.input_tokens, reply.output_tokens),
            )
            if spent.total_tokens > 0:
                self.record_usage(run, followup.key, spent.total_tokens)
        checked = self._validated(run, followup, reply)
        for _ in range(MAX_APPLY_ATTEMPTS):
            after, followups, outputs = self._transition(run, followup, reply, error, checked)
            try:
                self.store.apply(
                    run,
                    after,
                    followup.key,
                    followups,
                    settle=(record.reserved_tokens, record.reserved_cost),
                    spent=spent,
                    outputs=outputs,
                    model_step=True,
                )
            except RunMoved:
                fresh = self.store.get(run.run_id)
                if fresh is None:
                    raise RunMissing(f"run {run.run_id} vanished") from None
                run = fresh
                continue
            if spent.total_tokens:
                self.on_spent(run, spent)
            self._send(run.run_id, followup.key, followups)
            if after.terminal and not run.terminal:
                self.on_finish(after)
            return "failed" if error else "applied"
        raise RunMoved(run.run_id)

    def _validated(
        self, run: Run, followup: Followup, reply: ModelReply | None
    ) -> tuple[str, CodeValidation] | None:
        """A task output's code, validated once per apply (not once per retry of it): the
        fixed output and its summary, or None when there is nothing to validate."""
        if not run.validate_code or followup.step != "task" or reply is None or run.terminal:
            return None
        output = str(reply.arguments.get("output", ""))
        files = code_files(output)
        if not files:
            return None
        if self.validate_code is None:
            raise RuntimeError("the run validates code but this step has no code validator")
        return apply_validation(output, self.validate_code(files))

    def _transition(  # noqa: PLR0911  # one return per step kind and failure
        self,
        run: Run,
        followup: Followup,
        reply: ModelReply | None,
        error: str | None,
        checked: tuple[str, CodeValidation] | None = None,
    ) -> tuple[Run, list[Followup], dict[str, str]]:
        """The run after this step's answer; a run that moved on (ended, or a later round)
        only takes the usage."""
        if run.terminal or not self._current(run, followup):
            return run, [], {}
        if reply is None:
            return self._failure(run, followup, error or "the model gave no answer")
        arguments = reply.arguments
        if followup.step == "plan":
            try:
                tasks = parse_plan(arguments)
            except PlanError as bad:
                return replace(run, status="failed", error=str(bad)), [], {}
            after, followups = run_state.after_plan(run, tasks)
            return after, followups, {}
        if followup.step == "task":
            task_id = str(followup.task_id)
            if arguments.get("task_id") != task_id:
                return self._failure(
                    run,
                    followup,
                    f"submit_task_result: task_id is {arguments.get('task_id')!r}, "
                    f"but the task asked for was {task_id!r}",
                )
            if checked is not None:
                output, validation = checked
                after, followups = run_state.after_task(run, task_id, validation)
                return after, followups, {task_id: output}
            after, followups = run_state.after_task(run, task_id)
            return after, followups, {task_id: str(arguments["output"])}
        if followup.step == "evaluate":
            after, followups = run_state.after_evaluation(
                run,
                float(arguments["confidence"]),
                str(arguments["feedback"]),
                arguments.get("task_ids") or (),
            )
            return after, followups, {}
        # consolidate: the summary stands in for what did not fit; the task runs again.
        summary = str(arguments["summary"])
        self.memory.add_summary(run, followup.key, summary, self._left_out_ids(run, followup))
        return run, [Followup("task", followup.iteration, followup.task_id)], {}

    def _failure(
        self, run: Run, followup: Followup, error: str
    ) -> tuple[Run, list[Followup], dict[str, str]]:
        message = f"{followup.step} step failed: {error}"
        if followup.step == "task" and followup.task_id:
            after, _ = run_state.after_task_failure(run, followup.task_id, message)
            return replace(after, status="failed"), [], {}
        return replace(run, status="failed", error=message), [], {}

    # --- steps without a model call ------------------------------------------------------

    def _plain_step(self, run: Run, followup: Followup) -> str:
        for _ in range(MAX_APPLY_ATTEMPTS):
            if run.terminal or not self._current(run, followup):
                return "stale"
            if followup.step == "refine":
                after, followups = run_state.refine(run)
            else:
                outcome = followup.outcome or "failed"
                after, followups = run_state.finish(run, outcome, self.store.outputs(run)), []
            try:
                self.store.apply(run, after, followup.key, followups, model_step=False)
            except RunMoved:
                fresh = self.store.get(run.run_id)
                if fresh is None:
                    raise RunMissing(f"run {run.run_id} vanished") from None
                run = fresh
                continue
            self._send(run.run_id, followup.key, followups)
            if after.terminal:
                self.on_finish(after)
            return "applied"
        raise RunMoved(run.run_id)

    # --- helpers -----------------------------------------------------------------------

    def _current(self, run: Run, followup: Followup) -> bool:
        """Whether the run still waits for this step (a stale round's task does not)."""
        if followup.step == "plan":
            return run.status in ("queued", "planning")
        if followup.step in ("task", "consolidate"):
            task = run.task(str(followup.task_id))
            return (
                run.iteration == followup.iteration
                and task is not None
                and task.status == "running"
            )
        if followup.step == "evaluate":
            return run.iteration == followup.iteration and run.status == "evaluating"
        if followup.step == "refine":
            return run.iteration == followup.iteration and run.status == "evaluating"
        return not run.terminal  # finish

    def _window(self) -> Window:
        calibration = self.memory.calibration(self.config.model)
        return Window(
            self.config.model,
            self.config.context_tokens,
            self.config.reply_tokens,
            lambda text: estimate_tokens(text, calibration.chars_per_token),
        )

    def _prompt(self, run: Run, followup: Followup) -> Prompt | None:
        """The step's request; None when the task's memory must be consolidated first (a
        consolidate step is sent, which sends the task again)."""
        window = self._window()
        if followup.step == "plan":
            return plan_prompt(run, self.memory.tenant_memory(run), window)
        outputs = self.store.outputs(run)
        if followup.step == "evaluate":
            return evaluation_prompt(run, outputs, window)
        memory = self.memory.run_memory(run, outputs) + self.memory.tenant_memory(run)
        task = run.task(str(followup.task_id))
        if task is None:  # _current checked it; a plan never loses a task
            raise RunMissing(f"run {run.run_id} has no task {followup.task_id}")
        prompt = task_prompt(run, task, outputs, memory, window)
        if followup.step == "consolidate":
            return summary_prompt(run, prompt.left_out, window) if prompt.left_out else None
        consolidated = any(
            item.kind == "summary"
            and item.item_id.endswith(f"consolidate#{run.iteration}#{task.task_id}")
            for item in memory
        )
        overflow = window.would_overflow(prompt.whole_history_tokens)
        if overflow and prompt.left_out and not consolidated:
            consolidate = Followup("consolidate", followup.iteration, followup.task_id)
            self.send(run.run_id, [consolidate])
            return None
        return prompt

    def _left_out_ids(self, run: Run, followup: Followup) -> tuple[str, ...]:
        outputs = self.store.outputs(run)
        memory = self.memory.run_memory(run, outputs) + self.memory.tenant_memory(run)
        task = run.task(str(followup.task_id))
        if task is None:
            return ()
        prompt = task_prompt(run, task, outputs, memory, self._window())
        return tuple(item.item_id for item in prompt.left_out)

    def _reservation(self, request: ModelRequest) -> tuple[int, Decimal]:
        calibration = self.memory.calibration(self.config.model)
        input_tokens = (
            int(
                estimate_tokens("x" * request_chars(request), calibration.chars_per_token)
                * RESERVE_MARGIN
            )
            + 16
        )
        price = self.price(self.config.model)
        cost = cost_usd(price, input_tokens, 0) + max_cost_usd(price, request.max_tokens)
        return input_tokens + request.max_tokens, cost

    def _refused(self, run: Run, reason: str, tokens: int, cost: Decimal) -> str:
        if reason == "terminal":
            return "run_ended"
        if reason == "deadline":
            error = f"the run's time budget of {run.budget.max_seconds} s is spent"
        else:
            error = (
                f"the run's remaining budget cannot pay for its next call "
                f"(it needs up to {tokens} tokens and ${cost:.6f})"
            )
        if self.store.end(run, "budget_exceeded", error, actor=run_audit.STEP_ACTOR):
            ended = self.store.get(run.run_id)
            if ended is not None:
                self.on_finish(ended)
        return "budget_exceeded"

    def _replay_request(self, tool: str) -> ModelRequest:
        """A request offering ``tool``: all a stored reply is validated against."""
        return ModelRequest(self.config.model, "", (Message("user", ""),), TOOLS[tool], 1)

    def _send(self, run_id: str, key: str, followups: list[Followup]) -> None:
        if followups:
            self.send(run_id, followups)
        self.store.mark_done(run_id, key)
