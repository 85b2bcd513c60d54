"""Settings of the agents functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools

from pydantic import Field

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class AgentsApiSettings(ApiKeyAuthSettings):
    agents_table: str
    agent_steps_queue_url: str


class AgentStepSettings(FunctionSettings):
    agents_table: str
    agent_steps_queue_url: str
    # The model's context window; prompts are packed under 90% of it (docs/AGENTS.md).
    cognition_llm_context_tokens: int = Field(8192, ge=1024, le=2_000_000)
    # Every call's max_tokens: the reply cap, reserved from the budget before the call.
    cognition_llm_max_tokens: int = Field(1024, ge=64, le=64_000)
    # The Stripe Billing Meter (event_name) a tenant's tokens are reported to.
    cognition_agents_meter: str = Field(
        "cognition_agent_tokens", pattern=r"^[A-Za-z0-9_:-]{1,100}$"
    )


@functools.cache
def api_settings() -> AgentsApiSettings:
    return load_settings(AgentsApiSettings)


@functools.cache
def step_settings() -> AgentStepSettings:
    return load_settings(AgentStepSettings)
