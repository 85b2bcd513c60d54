"""The model protocol: the four tools' schemas, and how a reply that does not call the forced
tool properly is refused, with a message naming what was wrong, for every wire format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.logic.replies import parse_anthropic, parse_bedrock, parse_openai
from agents.models.llm import (
    TOOLS,
    Message,
    ModelRequest,
    ToolCallError,
    reply_from_raw,
    validate_arguments,
)

PLAN = {
    "tasks": [
        {"id": "t1", "description": "Research", "depends_on": []},
        {"id": "t2", "description": "Write", "depends_on": ["t1"]},
    ]
}


def request(tool: str = "submit_plan") -> ModelRequest:
    return ModelRequest("gpt-4o-mini", "You plan.", (Message("user", "Goal: x"),), TOOLS[tool], 512)


def openai_raw(
    arguments: Any = PLAN, name: str = "submit_plan", finish: str = "tool_calls"
) -> dict[str, Any]:
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"function": {"name": name, "arguments": encoded}}],
                },
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 80},
    }


def test_the_four_tools_have_strict_schemas_naming_every_field_of_the_protocol() -> None:
    plan = TOOLS["submit_plan"].parameters
    task = plan["properties"]["tasks"]["items"]
    assert set(TOOLS) == {
        "submit_plan",
        "submit_task_result",
        "submit_evaluation",
        "submit_summary",
    }
    assert (plan["additionalProperties"], task["additionalProperties"]) == (False, False)
    assert task["required"] == ["id", "description", "depends_on"]
    assert "$ref" not in json.dumps(plan)  # inlined for small local servers
    assert TOOLS["submit_task_result"].parameters["required"] == ["task_id", "output"]
    evaluation = TOOLS["submit_evaluation"].parameters["properties"]["confidence"]
    assert (evaluation["minimum"], evaluation["maximum"]) == (0, 1)
    assert TOOLS["submit_summary"].parameters["required"] == ["summary"]


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        (
            "submit_plan",
            {"tasks": [PLAN["tasks"][0], {"description": "Write", "depends_on": []}]},
            "submit_plan: tasks[1].id is missing",
        ),
        ("submit_plan", {"tasks": []}, "submit_plan: tasks: List should have at least 1 item"),
        (
            "submit_evaluation",
            {"confidence": 1.5, "feedback": ""},
            "submit_evaluation: confidence: should be less than or equal to 1",
        ),
        (
            "submit_evaluation",
            {"confidence": "0.9", "feedback": ""},
            "submit_evaluation: confidence: should be a valid number",
        ),
        (
            "submit_task_result",
            {"task_id": "t1", "output": "x", "notes": "y"},
            "submit_task_result: notes is not an argument of this tool",
        ),
        ("submit_summary", ["a summary"], "submit_summary: the arguments are list"),
    ],
)
def test_arguments_that_fail_the_schema_are_refused_naming_the_fault(
    tool: str, arguments: Any, message: str
) -> None:
    with pytest.raises(ToolCallError) as refused:
        validate_arguments(TOOLS[tool], arguments)
    assert refused.value.message.startswith(message)


def test_a_good_openai_reply_gives_the_arguments_usage_and_the_answering_model() -> None:
    reply = parse_openai(request(), openai_raw())
    assert reply.arguments == PLAN
    assert (reply.input_tokens, reply.output_tokens) == (300, 80)
    assert reply.model == "gpt-4o-mini-2024-07-18"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"choices": [{"message": {"content": "Here is a plan"}, "finish_reason": "stop"}]},
            "submit_plan: the reply has no tool call (stop reason 'stop'), "
            "it says: 'Here is a plan'",
        ),
        (openai_raw(name="submit_summary"), "submit_plan: the reply calls submit_summary instead"),
        (
            openai_raw('{"tasks": [{"id": "t1"', finish="length"),
            "submit_plan: the arguments are not valid JSON (cut at max_tokens)",
        ),
        ({"choices": []}, "submit_plan: the reply has no choices"),
        (
            {**openai_raw(), "usage": None},
            "submit_plan: the reply reports no input token count",
        ),
    ],
)
def test_a_reply_without_one_good_call_of_the_forced_tool_is_refused(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolCallError) as refused:
        parse_openai(request(), raw)
    assert refused.value.message.startswith(message)


def test_two_calls_of_the_forced_tool_are_refused() -> None:
    raw = openai_raw()
    calls = raw["choices"][0]["message"]["tool_calls"]
    calls.append(calls[0])
    with pytest.raises(ToolCallError, match="calls the tool 2 times"):
        parse_openai(request(), raw)


def test_anthropic_and_bedrock_replies_are_read_and_refused_alike() -> None:
    anthropic = {
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "text", "text": "Sure."},
            {"type": "tool_use", "name": "submit_plan", "input": PLAN},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    bedrock = {
        "output": {"message": {"content": [{"toolUse": {"name": "submit_plan", "input": PLAN}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 11, "outputTokens": 6},
    }
    assert parse_anthropic(request(), anthropic).arguments == PLAN
    assert parse_bedrock(request(), bedrock).model == "gpt-4o-mini"  # Converse names none
    with pytest.raises(ToolCallError, match=r"no tool call \(stop reason 'end_turn'\)"):
        parse_anthropic(request(), {**anthropic, "content": [], "stop_reason": "end_turn"})
    bad_input = {
        "output": {
            "message": {"content": [{"toolUse": {"name": "submit_plan", "input": {"tasks": "t1"}}}]}
        }
    }
    with pytest.raises(ToolCallError, match="submit_plan: tasks: should be a valid list"):
        parse_bedrock(request(), {**bedrock, **bad_input})


def test_a_stored_raw_reply_replays_to_the_same_reply_and_is_validated_again() -> None:
    reply = parse_openai(request(), openai_raw())
    stored = json.loads(json.dumps(reply.raw))  # as the agent stores it
    assert reply_from_raw("openai", request(), stored) == reply
    with pytest.raises(ToolCallError, match="submit_task_result: the reply calls submit_plan"):
        reply_from_raw("openai", request("submit_task_result"), stored)
    with pytest.raises(ToolCallError, match="no reply parser for provider 'mystery'"):
        reply_from_raw("mystery", request(), stored)
