"""The replay provider plays the shipped recording as a run would ask for it, and
``provider_from`` says exactly which setting a provider is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from moto import mock_aws

from agents.dal.llm import provider_from
from agents.dal.llm.replay import ReplayProvider, load_recording
from agents.llm_settings import LlmSettings
from agents.logic.pricing import cost_usd, price_of
from agents.models.llm import (
    TOOLS,
    Message,
    ModelRequest,
    ProviderConfigError,
    ToolCallError,
    reply_from_raw,
)
from cognitionos import aws
from tests.fakes.openai_server import FakeOpenAI

RECORDING = Path(__file__).resolve().parents[2] / "events/agents/replay-run.json"
GOAL = "Write a short launch announcement for our new usage-based pricing"


def ask(tool: str, instruction: str, context: str = "") -> ModelRequest:
    system = f"You are an agent working on the goal: {GOAL}. {context}"
    return ModelRequest("replay", system, (Message("user", instruction),), TOOLS[tool], 1024)


def test_the_shipped_recording_plays_a_whole_run_from_plan_to_summary() -> None:
    provider = provider_from(
        LlmSettings(cognition_llm_provider="replay", cognition_llm_replay_file=RECORDING)
    )
    plan = provider.call(ask("submit_plan", f"Plan the goal: {GOAL}"), timeout_s=1).arguments
    tasks = {task["id"]: task for task in plan["tasks"]}
    assert [t["depends_on"] for t in plan["tasks"]] == [[], [], ["t1", "t2"]]
    outputs = {}
    for task_id in ("t1", "t2", "t3"):
        # The last task's prompt also shows its dependencies' descriptions and outputs.
        context = " ".join(
            f"{t['description']}: {o}"
            for t, o in ((tasks[d], outputs[d]) for d in tasks[task_id]["depends_on"])
        )
        request = ask(
            "submit_task_result", f"Task {task_id}: {tasks[task_id]['description']}", context
        )
        reply = provider.call(request, timeout_s=1)
        assert reply.arguments["task_id"] == task_id
        assert reply_from_raw("replay", request, reply.raw) == reply
        outputs[task_id] = reply.arguments["output"]
    evaluation = provider.call(ask("submit_evaluation", "Evaluate the results."), timeout_s=1)
    summary = provider.call(ask("submit_summary", "Summarise the context."), timeout_s=1)
    assert evaluation.arguments["confidence"] == 0.9
    assert "usage-based pricing" in summary.arguments["summary"]
    assert provider.model == "replay-launch-announcement"
    assert cost_usd(price_of(provider.model, "replay"), 1000, 1000) == 0


def test_the_most_specific_entry_wins_and_an_unmatched_request_is_a_clear_error(
    tmp_path: Path,
) -> None:
    entry = {"tool": "submit_summary", "usage": {"input_tokens": 1, "output_tokens": 1}}
    recording = {
        "model": "r",
        "entries": [
            {**entry, "match": None, "arguments": {"summary": "fallback"}},
            {**entry, "match": "alpha", "arguments": {"summary": "alpha"}},
            {**entry, "match": "alpha beta", "arguments": {"summary": "alpha beta"}},
            {
                **entry,
                "tool": "submit_task_result",
                "match": "gamma",
                "arguments": {"task_id": "t1", "output": "gamma"},
            },
        ],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recording))
    provider = ReplayProvider(load_recording(path))

    def answer(tool: str, system: str, last: str) -> str:
        request = ModelRequest("r", system, (Message("user", last),), TOOLS[tool], 10)
        return str(next(iter(provider.call(request, timeout_s=1).arguments.values())))

    assert answer("submit_summary", "", "nothing known") == "fallback"
    assert answer("submit_summary", "", "alpha beta gamma") == "alpha beta"
    assert answer("submit_summary", "alpha beta", "alpha") == "alpha"  # the instruction wins
    with pytest.raises(
        ToolCallError,
        match=r"submit_task_result: the recording has no answer "
        r"for this request \(its submit_task_result entries "
        r"match \['gamma'\]",
    ):
        answer("submit_task_result", "", "delta")


def test_a_recording_with_a_bad_answer_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "model": "r",
                "entries": [
                    {
                        "tool": "submit_evaluation",
                        "match": None,
                        "arguments": {"confidence": 2},
                        "usage": {"input_tokens": 1, "output_tokens": 1},
                    }
                ],
            }
        )
    )
    with pytest.raises(
        ProviderConfigError,
        match=r"bad.json: entries.0: Value error, "
        r"submit_evaluation: confidence: should be",
    ):
        load_recording(path)
    with pytest.raises(ProviderConfigError, match="No such file"):
        load_recording(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "COGNITION_LLM_PROVIDER is None: set it to one of openai, bedrock, anthropic, replay"),
        ({"cognition_llm_provider": "gemini"}, "COGNITION_LLM_PROVIDER is 'gemini'"),
        (
            {"cognition_llm_provider": "openai", "openai_base_url": "http://127.0.0.1:11434/v1"},
            "COGNITION_LLM_MODEL is not set: the openai provider needs it",
        ),
        (
            {"cognition_llm_provider": "openai", "cognition_llm_model": "llama3.2"},
            "OPENAI_BASE_URL is not set: the openai provider needs it",
        ),
        (
            {"cognition_llm_provider": "anthropic", "cognition_llm_model": "claude-sonnet-4-5"},
            "ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_SECRET_ID) is not set: the anthropic "
            "provider needs it",
        ),
        ({"cognition_llm_provider": "replay"}, "COGNITION_LLM_REPLAY_FILE is not set"),
    ],
)
def test_a_provider_missing_a_setting_names_it(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ProviderConfigError) as missing:
        provider_from(LlmSettings(**settings))  # type: ignore[arg-type]
    assert str(missing.value).startswith(message)


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_LLM_PROVIDER", "openai")
    monkeypatch.setenv("COGNITION_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    provider = provider_from(LlmSettings())
    assert (provider.name, provider.model) == ("openai", "qwen2.5:7b")
    monkeypatch.setenv("COGNITION_LLM_PROVIDER", "bedrock")
    assert provider_from(LlmSettings()).name == "bedrock"


def test_a_key_can_come_from_secrets_manager_instead_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    parameters.clear_caches()
    parameters_base.DEFAULT_PROVIDERS.clear()  # a provider made outside the mock is forgotten
    with mock_aws(), FakeOpenAI({"submit_summary": [{"summary": "kept"}]}) as fake:
        arn = aws.client("secretsmanager").create_secret(
            Name="agents/openai-api-key", SecretString="sk-from-secrets-manager"
        )["ARN"]
        settings = LlmSettings(
            cognition_llm_provider="openai",
            cognition_llm_model="gpt-4o-mini",
            openai_base_url=fake.url,
            openai_api_key_secret_id=arn,
        )
        request = ModelRequest(
            "gpt-4o-mini", "s", (Message("user", "u"),), TOOLS["submit_summary"], 10
        )
        provider_from(settings).call(request, timeout_s=5)
    parameters.clear_caches()
    parameters_base.DEFAULT_PROVIDERS.clear()
    aws.reset_clients()
    assert fake.headers[0]["authorization"] == "Bearer sk-from-secrets-manager"
