"""The agents API's request and response bodies (``/v1/agents/runs``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from agents.logic.plan import leaves
from agents.logic.run_state import Run, RunStatus, Strategy
from cognitionos.timeutil import iso

STATUS = (
    "`queued`, `planning`, `executing`, `evaluating` while it runs; then `succeeded` "
    "(confidence reached the threshold), `needs_review` (iterations ran out below it), "
    "`failed`, `cancelled` or `budget_exceeded`, after which it makes no model call"
)


def _not_a_boolean(value: Any) -> Any:
    # pydantic reads true as 1; JSON Schema's number is never a boolean
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


WholeNumber = Annotated[int, BeforeValidator(_not_a_boolean)]
Number = Annotated[float, BeforeValidator(_not_a_boolean)]


class BudgetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="Input plus output tokens, all calls together",
        examples=[20000],
    )
    max_cost_usd: float | None = Field(
        None,
        ge=0.000001,  # a millionth of a dollar: DynamoDB holds no smaller magnitude anyway
        le=10_000,
        description="USD, priced by the model's price table",
        examples=[0.5],
    )
    max_seconds: int | None = Field(
        None, ge=1, le=86_400, description="Wall time from the run's creation", examples=[600]
    )

    _no_booleans = field_validator("*", mode="before")(_not_a_boolean)


class CreateRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal: str = Field(
        min_length=1,
        max_length=4000,
        description="What the agent should achieve, in words",
        examples=["Write a short launch announcement for our new usage-based pricing"],
    )
    strategy: Strategy = Field(
        "sequential",
        description="`sequential`: ready tasks one at a time in dependency order; `parallel`: "
        "every ready task at once, each in its own step",
        examples=["parallel"],
    )
    max_iterations: WholeNumber = Field(
        3,
        ge=1,
        le=5,
        description="Evaluations at most; each may trigger a refinement",
        examples=[3],
    )
    confidence_threshold: Number = Field(
        0.8,
        ge=0,
        le=1,
        description="The evaluation's confidence that ends the run `succeeded`",
        examples=[0.8],
    )
    budget: BudgetBody = Field(
        BudgetBody(max_tokens=None, max_cost_usd=None, max_seconds=None),
        description="Limits the run never passes; none by default",
    )
    validate_code: StrictBool = Field(  # JSON true or false, not 0 or "yes"
        False, description="Reserved: validate the Python code blocks of task outputs"
    )


class RunCreated(BaseModel):
    run_id: str = Field(
        description="The run's id", examples=["run_0f8fad5bd9cb469fa16570867728950e"]
    )
    status: Literal["queued"] = Field(description="Always `queued`: a step picks it up")


class CodeValidationView(BaseModel):
    passed: bool = Field(description="Every block passed all six stages", examples=[False])
    blocks: int = Field(description="The output's Python code blocks validated", examples=[1])
    failed_stage: str | None = Field(
        description="The stage that failed (`syntax`, `lint`, `format`, `types`, `security`, "
        "`tests`), or null",
        examples=["security"],
    )
    findings: list[str] = Field(
        description="The failed stage's first findings: rule, block file and line, message",
        examples=[["B602 block_1.py:3 subprocess call with shell=True identified"]],
    )
    fixed: bool = Field(
        description="Lint or format fixed the code; the output holds the fixed code",
        examples=[True],
    )


class PlanTaskView(BaseModel):
    task_id: str = Field(description="The id the model gave the task", examples=["t1"])
    description: str = Field(description="What the task does", examples=["Draft the headline"])
    depends_on: list[str] = Field(description="Tasks whose output it needs", examples=[["t0"]])
    parent_id: str | None = Field(
        description="The task it is a subtask of (one level), or null", examples=[None]
    )
    status: Literal["pending", "running", "done", "failed", "skipped"] = Field(
        description="`pending`, `running`, `done`, `failed` or `skipped`", examples=["done"]
    )
    output: str | None = Field(description="Its latest output", examples=["Pay for what you use."])
    validation: CodeValidationView | None = Field(
        description="Its latest output's code validation, when the run was created with "
        "`validate_code` and the output had Python code blocks; else null",
        examples=[None],
    )


class UsageView(BaseModel):
    input_tokens: int = Field(description="Prompt tokens the provider reported", examples=[1200])
    output_tokens: int = Field(description="Reply tokens the provider reported", examples=[300])
    total_tokens: int = Field(description="Input plus output", examples=[1500])
    cost_usd: float = Field(description="USD at the model's price", examples=[0.0021])
    elapsed_seconds: float = Field(description="Since the run was created", examples=[12.5])


class RunView(BaseModel):
    run_id: str = Field(
        description="The run's id", examples=["run_0f8fad5bd9cb469fa16570867728950e"]
    )
    status: RunStatus = Field(description=STATUS, examples=["succeeded"])
    goal: str | None = Field(description="The goal (null once the tenant's data is erased)")
    strategy: Strategy = Field(description="`sequential` or `parallel`", examples=["parallel"])
    plan: list[PlanTaskView] = Field(description="The model's tasks, in plan order")
    iterations: int = Field(description="Evaluations done", examples=[1])
    confidence: float | None = Field(description="The last evaluation's confidence", examples=[0.9])
    usage: UsageView = Field(description="What the run's calls used")
    result: str | None = Field(description="The final output, once it has ended", examples=[None])
    error: str | None = Field(description="Why it failed or stopped", examples=[None])
    created_at: str = Field(description="ISO-8601 UTC", examples=["2026-12-02T10:00:00Z"])

    @classmethod
    def of(cls, run: Run, outputs: dict[str, str], now: float) -> RunView:
        leaf_ids = {task.task_id for task in leaves(run.tasks)}
        return cls(
            run_id=run.run_id,
            status=run.status,
            goal=run.goal or None,
            strategy=run.strategy,
            plan=[
                PlanTaskView(
                    task_id=task.task_id,
                    description=task.description,
                    depends_on=list(task.depends_on),
                    parent_id=task.parent,
                    status=task.status,
                    output=outputs.get(task.task_id) if task.task_id in leaf_ids else None,
                    validation=CodeValidationView(
                        **{**asdict(task.validation), "findings": list(task.validation.findings)}
                    )
                    if task.validation
                    else None,
                )
                for task in run.tasks
            ],
            iterations=run.iterations,
            confidence=run.confidence,
            usage=UsageView(
                input_tokens=run.usage.input_tokens,
                output_tokens=run.usage.output_tokens,
                total_tokens=run.usage.total_tokens,
                cost_usd=float(run.usage.cost_usd),
                elapsed_seconds=round(
                    max((run.updated_at if run.terminal else now) - run.created_at, 0.0), 3
                ),
            ),
            result=run.result,
            error=run.error,
            created_at=iso(int(run.created_at)),
        )


class CancelAccepted(BaseModel):
    run_id: str = Field(description="The run's id")
    status: RunStatus = Field(
        description="The run's status after the request", examples=["cancelled"]
    )


__all__ = ["CancelAccepted", "CreateRunBody", "RunCreated", "RunStatus", "RunView"]
