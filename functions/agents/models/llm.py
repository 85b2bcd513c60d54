"""The model protocol: every call offers one tool and forces it; the agent reads only that
tool call's arguments, validated here against the tool's JSON Schema.

The argument models are the single source of each tool's schema (``TOOLS``) and of its
validation, so what a provider is told and what the agent accepts cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cognitionos.errors import DomainError
from cognitionos.settings import SettingsError


class ToolCallError(DomainError):
    """The model's reply has no usable call of the forced tool; the message names the fault."""

    status_code = 502  # the model (upstream) answered badly, not the caller


class ModelRequestRejected(ToolCallError):
    """The provider refused the request itself (a 400 or 422: a prompt past the context
    window, a schema it cannot take): retrying will not help, so the step fails as for a
    bad tool call."""


class ModelUnavailable(RuntimeError):
    """Timeout, 5xx or throttling after the client's own retries: SQS retries the step."""


class ProviderConfigError(SettingsError):
    """The chosen provider lacks its base URL, key, model or recording."""


class PriceUnknown(SettingsError):
    """No price for a model: the run cannot reserve the cost of its call."""


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PlannedSubtask(_Arguments):
    id: str = Field(min_length=1, max_length=64, description="Short unique id, e.g. t2a.")
    description: str = Field(min_length=1, description="What to do, in one or two sentences.")
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of sibling or other tasks that must finish first."
    )


class PlannedTask(_Arguments):
    id: str = Field(min_length=1, max_length=64, description="Short unique id, e.g. t1.")
    description: str = Field(min_length=1, description="What to do, in one or two sentences.")
    depends_on: list[str] = Field(description="Ids of the tasks that must finish first.")
    subtasks: list[PlannedSubtask] = Field(
        default_factory=list,
        description="Optional: the steps of a task too large for one (one level, no deeper).",
    )


class PlanArguments(_Arguments):
    tasks: list[PlannedTask] = Field(min_length=1, description="The tasks that reach the goal.")


class TaskResultArguments(_Arguments):
    task_id: str = Field(min_length=1, description="The id of the task this is the result of.")
    output: str = Field(description="The task's result.")


class EvaluationArguments(_Arguments):
    confidence: float = Field(ge=0, le=1, description="0..1: how well the goal is reached.")
    feedback: str = Field(description="What is missing or wrong, naming the tasks concerned.")
    task_ids: list[str] = Field(
        default_factory=list,
        description="Optional: the ids of the tasks to run again (default: those the feedback "
        "names, else all).",
    )


class SummaryArguments(_Arguments):
    summary: str = Field(min_length=1, description="The facts worth keeping, concisely.")


@dataclass(frozen=True)
class Tool:
    """One tool of the protocol: offered to the model and forced with ``tool_choice``."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system: str
    messages: tuple[Message, ...]
    tool: Tool  # offered AND forced
    max_tokens: int


@dataclass(frozen=True)
class ModelReply:
    arguments: dict[str, Any]  # the forced tool call's arguments, validated
    input_tokens: int
    output_tokens: int
    model: str  # the model the provider says answered
    raw: dict[str, Any]  # the provider's response as JSON-able data (stored by the agent)


_ARGUMENTS: dict[str, type[_Arguments]] = {
    "submit_plan": PlanArguments,
    "submit_task_result": TaskResultArguments,
    "submit_evaluation": EvaluationArguments,
    "submit_summary": SummaryArguments,
}
_DESCRIPTIONS = {
    "submit_plan": "Submit the plan: the tasks that reach the goal, with their dependencies.",
    "submit_task_result": "Submit the result of the task you were given.",
    "submit_evaluation": "Submit how confident you are that the results reach the goal.",
    "submit_summary": "Submit a summary of the context, keeping what later steps need.",
}


def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with nested models inlined and titles dropped: small local
    servers (llama.cpp grammars, Ollama) handle plain schemas better than ``$ref``s."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


TOOLS: dict[str, Tool] = {
    name: Tool(name, _DESCRIPTIONS[name], _json_schema(model)) for name, model in _ARGUMENTS.items()
}


def validate_arguments(tool: Tool, arguments: Any) -> dict[str, Any]:
    """``arguments`` checked against the tool's schema, or a ToolCallError naming every fault
    (e.g. ``submit_plan: tasks[1].id is missing``)."""
    if not isinstance(arguments, dict):
        raise ToolCallError(
            f"{tool.name}: the arguments are {type(arguments).__name__}, not a JSON object"
        )
    try:
        parsed = _ARGUMENTS[tool.name].model_validate(arguments)
    except ValidationError as invalid:
        problems = "; ".join(_problem(error) for error in invalid.errors())
        raise ToolCallError(f"{tool.name}: {problems}") from None
    return parsed.model_dump(mode="json", exclude_unset=True)  # what the model sent


def _problem(error: Any) -> str:
    path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")
    if error["type"] == "missing":
        return f"{path} is missing"
    if error["type"] == "extra_forbidden":
        return f"{path} is not an argument of this tool"
    message = str(error["msg"]).removeprefix("Input ")
    return f"{path or 'the arguments'}: {message}"


def reply_from_raw(provider: str, request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    """Rebuild a reply from the provider's stored response, with the same validation: the
    agent stores ``raw`` before acting on it and replays it on redelivery."""
    from agents.logic.replies import parse_reply  # noqa: PLC0415 (logic imports models)

    return parse_reply(provider, request, raw)
