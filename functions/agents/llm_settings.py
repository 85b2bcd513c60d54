"""Settings of the model provider and its prices, read once per execution environment."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import SecretStr

from cognitionos.settings import FunctionSettings, load_settings

PROVIDERS = ("openai", "bedrock", "anthropic", "replay")


class LlmSettings(FunctionSettings):
    """Which provider answers and how to reach it; what is missing for the chosen one is
    reported by ``provider_from_env`` (a ProviderConfigError naming the variable)."""

    cognition_llm_provider: str | None = None  # one of PROVIDERS
    cognition_llm_model: str | None = None
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None  # optional: local servers need none
    anthropic_api_key: SecretStr | None = None
    # In Lambda, a key is better kept in Secrets Manager than in the function's environment:
    # these name the secret holding it (read once per execution environment).
    openai_api_key_secret_id: str | None = None
    anthropic_api_key_secret_id: str | None = None
    # The stack's llm-api-key secret (infra/topology.py), for whichever of the two is chosen.
    llm_api_key_secret_id: str | None = None
    anthropic_base_url: str | None = None  # the SDK's default is Anthropic's API
    cognition_llm_replay_file: Path | None = None
    # JSON {"<model>": {"input": usd_per_million, "output": usd_per_million}}
    cognition_llm_prices: str | None = None


@functools.cache
def llm_settings() -> LlmSettings:
    return load_settings(LlmSettings)
