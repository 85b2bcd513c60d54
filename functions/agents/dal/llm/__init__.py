"""The model providers: one ``ModelProvider`` per execution environment, chosen by
``COGNITION_LLM_PROVIDER`` (openai, bedrock, anthropic, replay). Only the chosen provider's
SDK is imported (each costs hundreds of milliseconds of cold start)."""

from __future__ import annotations

import functools
from typing import Protocol

from pydantic import SecretStr

from agents.llm_settings import PROVIDERS, LlmSettings, llm_settings
from agents.models.llm import ModelReply, ModelRequest, ProviderConfigError


class ModelProvider(Protocol):
    name: str  # "openai" | "bedrock" | "anthropic" | "replay"
    model: str  # the model requests should name (COGNITION_LLM_MODEL)

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        """One call forcing ``request.tool``, all retries within ``timeout_s``. Raises
        ToolCallError (a bad reply), ModelUnavailable (retry the step later) or
        ProviderConfigError."""
        ...


@functools.cache
def provider_from_env() -> ModelProvider:
    return provider_from(llm_settings())


def provider_from(settings: LlmSettings) -> ModelProvider:
    """The provider ``settings`` describe, or a ProviderConfigError naming what is missing."""
    name = settings.cognition_llm_provider
    if name not in PROVIDERS:
        raise ProviderConfigError(
            f"COGNITION_LLM_PROVIDER is {name!r}: set it to one of {', '.join(PROVIDERS)}"
        )
    if name == "replay":
        from agents.dal.llm.replay import ReplayProvider, load_recording  # noqa: PLC0415

        if settings.cognition_llm_replay_file is None:
            raise ProviderConfigError(
                "COGNITION_LLM_REPLAY_FILE is not set: the replay provider needs a recording "
                "(e.g. events/agents/replay-run.json)"
            )
        recording = load_recording(settings.cognition_llm_replay_file)
        return ReplayProvider(recording, settings.cognition_llm_model)
    model = _required(settings.cognition_llm_model, "COGNITION_LLM_MODEL", name)
    if name == "openai":
        from agents.dal.llm.openai import OpenAIProvider  # noqa: PLC0415

        base_url = _required(settings.openai_base_url, "OPENAI_BASE_URL", name)
        key = _api_key(
            settings.openai_api_key,
            settings.openai_api_key_secret_id or settings.llm_api_key_secret_id,
        )
        return OpenAIProvider(model, base_url, key)
    if name == "anthropic":
        from agents.dal.llm.anthropic import AnthropicProvider  # noqa: PLC0415

        key = _api_key(
            settings.anthropic_api_key,
            settings.anthropic_api_key_secret_id or settings.llm_api_key_secret_id,
        )
        return AnthropicProvider(
            model,
            _required(key, "ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_SECRET_ID)", name),
            settings.anthropic_base_url,
        )
    from agents.dal.llm.bedrock import BedrockProvider  # noqa: PLC0415

    return BedrockProvider(model)


def _api_key(value: SecretStr | None, secret_id: str | None) -> str | None:
    """The key from the environment, else from the Secrets Manager secret ``secret_id``."""
    if value is not None:
        return value.get_secret_value()
    if secret_id is None:
        return None
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 (only with a secret)

    stored = str(parameters.get_secret(secret_id))
    return None if stored == UNSET else stored


UNSET = "unset"  # the local runner's value of an operator secret nobody set


def _required(value: str | None, variable: str, provider: str) -> str:
    if not value:
        raise ProviderConfigError(f"{variable} is not set: the {provider} provider needs it")
    return value
