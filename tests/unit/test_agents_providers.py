"""Each provider's request on the wire and its reply, against the fake model server over
HTTP (OpenAI-compatible and Anthropic routes) and botocore's Stubber (Bedrock Converse);
retries, throttling and timeouts stay inside the step's time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from agents.dal.llm.anthropic import AnthropicProvider
from agents.dal.llm.bedrock import BedrockProvider, read_timeout_s
from agents.dal.llm.openai import OpenAIProvider
from agents.models.llm import (
    TOOLS,
    Message,
    ModelRequest,
    ModelRequestRejected,
    ModelUnavailable,
    ProviderConfigError,
    ToolCallError,
    reply_from_raw,
)
from cognitionos import aws
from tests.fakes.openai_server import Answer, FakeOpenAI

RESULT = {"task_id": "t1", "output": "Three bullet points."}
REQUEST = ModelRequest(
    model="llama3.2",
    system="You are a careful writer.",
    messages=(
        Message("user", "Task t1: summarise."),
        Message("assistant", "Noted."),
        Message("user", "Go on."),
    ),
    tool=TOOLS["submit_task_result"],
    max_tokens=256,
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI({"submit_task_result": [RESULT]}, usage=(321, 54)) as server:
        yield server


def test_openai_sends_the_tool_forced_with_max_tokens_and_reads_the_usage(
    fake: FakeOpenAI,
) -> None:
    reply = OpenAIProvider("llama3.2", fake.url, "sk-test").call(REQUEST, timeout_s=10)
    body = fake.requests[0]
    assert fake.paths == ["/v1/chat/completions"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "submit_task_result"}}
    assert body["tools"][0]["function"]["parameters"] == TOOLS["submit_task_result"].parameters
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert (body["model"], body["max_tokens"]) == ("llama3.2", 256)
    assert fake.headers[0]["authorization"] == "Bearer sk-test"
    assert (reply.arguments, reply.input_tokens, reply.output_tokens) == (RESULT, 321, 54)
    assert reply.model == "fake-model"
    assert reply_from_raw("openai", REQUEST, reply.raw) == reply


def test_openai_retries_5xx_and_throttling_then_answers(fake: FakeOpenAI) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 429, retry_after_s=0.1)
    reply = OpenAIProvider("llama3.2", fake.url, None).call(REQUEST, timeout_s=10)
    assert reply.arguments == RESULT
    assert fake.calls["submit_task_result"] == 3


def test_openai_gives_up_as_unavailable_after_its_retries(fake: FakeOpenAI) -> None:
    fake.fail_next(5, 503)
    with pytest.raises(ModelUnavailable, match="openai: HTTP 503"):
        OpenAIProvider("llama3.2", fake.url, None).call(REQUEST, timeout_s=10)
    assert fake.calls["submit_task_result"] == 3  # one call and the SDK's two retries


def test_a_retry_after_longer_than_the_time_left_is_not_waited_for(fake: FakeOpenAI) -> None:
    fake.fail_next(1, 429, retry_after_s=30)
    with pytest.raises(ModelUnavailable, match="HTTP 429"):
        OpenAIProvider("llama3.2", fake.url, None).call(REQUEST, timeout_s=10)
    assert fake.calls["submit_task_result"] == 1


def test_a_slow_model_times_out_within_the_step_time_without_more_attempts() -> None:
    slow = {"submit_task_result": [Answer(arguments=RESULT, delay_s=2)]}
    with FakeOpenAI(slow) as fake:
        with pytest.raises(ModelUnavailable, match="openai: no answer"):
            OpenAIProvider("llama3.2", fake.url, None).call(REQUEST, timeout_s=2.6)
        assert fake.calls["submit_task_result"] == 1  # no time was left for a retry


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ProviderConfigError), (404, ProviderConfigError), (400, ModelRequestRejected)],
)
def test_refusals_that_a_retry_cannot_fix_are_not_retried(
    fake: FakeOpenAI, status: int, error: type[Exception]
) -> None:
    fake.fail_next(1, status)
    with pytest.raises(error, match=f"HTTP {status}"):
        OpenAIProvider("llama3.2", fake.url, None).call(REQUEST, timeout_s=10)
    assert fake.calls["submit_task_result"] == 1


def test_openai_names_a_malformed_tool_call() -> None:
    script = {
        "submit_task_result": [
            Answer(arguments={"task_id": "t1"}),
            Answer(tool="submit_plan", arguments={"tasks": []}),
            Answer(text_only="I would rather chat."),
        ]
    }
    provider_messages = []
    with FakeOpenAI(script) as fake:
        provider = OpenAIProvider("llama3.2", fake.url, None)
        for _ in range(3):
            with pytest.raises(ToolCallError) as refused:
                provider.call(REQUEST, timeout_s=10)
            provider_messages.append(refused.value.message)
    assert provider_messages == [
        "submit_task_result: output is missing",
        "submit_task_result: the reply calls submit_plan instead",
        "submit_task_result: the reply has no tool call (stop reason 'stop'), "
        "it says: 'I would rather chat.'",
    ]


def test_anthropic_forces_the_tool_and_sends_the_system_prompt_apart(fake: FakeOpenAI) -> None:
    reply = AnthropicProvider("claude-sonnet-4-5", "sk-ant-test", fake.root_url).call(
        REQUEST, timeout_s=10
    )
    body = fake.requests[0]
    assert fake.paths == ["/v1/messages"]
    assert body["tool_choice"] == {"type": "tool", "name": "submit_task_result"}
    assert body["tools"][0]["input_schema"] == TOOLS["submit_task_result"].parameters
    assert body["system"] == REQUEST.system
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    headers = fake.headers[0]  # the SDK sends the key as x-api-key or a bearer token
    assert "sk-ant-test" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert (reply.arguments, reply.input_tokens, reply.output_tokens) == (RESULT, 321, 54)
    assert reply_from_raw("anthropic", REQUEST, reply.raw) == reply


def test_anthropic_overload_is_retried_then_unavailable(fake: FakeOpenAI) -> None:
    fake.fail_next(3, 529)
    with pytest.raises(ModelUnavailable, match="anthropic: HTTP 529"):
        AnthropicProvider("claude-sonnet-4-5", "k", fake.root_url).call(REQUEST, timeout_s=10)
    assert fake.calls["submit_task_result"] == 3


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stubber, float]]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    aws.reset_clients()
    timeout_s = 120.0
    read_s, retry = read_timeout_s(timeout_s)
    client = aws.client("bedrock-runtime", read_timeout_s=read_s, retry=retry)
    with Stubber(client) as stubber:
        yield stubber, timeout_s
        stubber.assert_no_pending_responses()
    aws.reset_clients()


def converse_response(arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_1",
                            "name": "submit_task_result",
                            "input": arguments,
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 410, "outputTokens": 61, "totalTokens": 471},
        "metrics": {"latencyMs": 900},
    }


def test_bedrock_converse_forces_the_tool_with_tool_choice(
    bedrock: tuple[Stubber, float],
) -> None:
    stubber, timeout_s = bedrock
    model = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    expected = {
        "modelId": model,
        "system": [{"text": REQUEST.system}],
        "messages": [{"role": m.role, "content": [{"text": m.content}]} for m in REQUEST.messages],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "submit_task_result",
                        "description": TOOLS["submit_task_result"].description,
                        "inputSchema": {"json": TOOLS["submit_task_result"].parameters},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "submit_task_result"}},
        },
        "inferenceConfig": {"maxTokens": 256},
    }
    stubber.add_response("converse", converse_response(RESULT), expected)
    stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    stubber.add_client_error("converse", "ValidationException", "Input is too long", 400)
    request = ModelRequest(model, REQUEST.system, REQUEST.messages, REQUEST.tool, 256)
    provider = BedrockProvider(model)
    reply = provider.call(request, timeout_s=timeout_s)
    assert (reply.arguments, reply.input_tokens, reply.output_tokens) == (RESULT, 410, 61)
    assert reply.model == model
    assert reply_from_raw("bedrock", request, reply.raw) == reply
    with pytest.raises(ModelUnavailable, match="ThrottlingException"):
        provider.call(request, timeout_s=timeout_s)
    with pytest.raises(ModelRequestRejected, match="Input is too long"):
        provider.call(request, timeout_s=timeout_s)


def test_bedrock_attempts_fit_in_the_time_left() -> None:
    for timeout_s in (5.0, 20.0, 40.0, 120.0, 900.0):
        read_s, retry = read_timeout_s(timeout_s)
        attempts = 3 if retry else 1
        assert attempts * (read_s + 3) + (3 if retry else 0) <= timeout_s
    assert read_timeout_s(900.0) == (256, True)
    with pytest.raises(ModelUnavailable, match="too little"):
        read_timeout_s(2.0)


def test_a_callable_script_answers_from_the_request_and_every_body_is_kept() -> None:
    def script(tool: str, body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]["content"]
        return {"task_id": "t1", "output": f"{tool} for {last}"}

    with FakeOpenAI(script) as fake:
        provider = OpenAIProvider("llama3.2", fake.url, None)
        reply = provider.call(REQUEST, timeout_s=10)
        provider.call(REQUEST, timeout_s=10)
    assert reply.arguments["output"] == "submit_task_result for Go on."
    assert len(fake.bodies("submit_task_result")) == fake.calls["submit_task_result"] == 2
