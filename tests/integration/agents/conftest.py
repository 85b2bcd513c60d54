"""Agent runs in process: the ``agents`` fixture (``driver.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Script
from tests.integration.agents.driver import MODEL, PRICES, AgentDriver
from tests.integration.conftest import Aws, LambdaContext, reset_runtime_caches


@pytest.fixture
def agents(aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``agents(script)`` -> an AgentDriver whose model is a FakeOpenAI playing ``script``."""
    started: list[FakeOpenAI] = []

    def make(script: Script, usage: tuple[int, int] = (120, 40), **env: str) -> AgentDriver:
        fake = FakeOpenAI(script, model=MODEL, usage=usage).__enter__()
        started.append(fake)
        for name, value in {
            "COGNITION_LLM_PROVIDER": "openai",
            "COGNITION_LLM_MODEL": MODEL,
            "OPENAI_BASE_URL": fake.url,
            "COGNITION_LLM_PRICES": json.dumps(PRICES),
            **env,
        }.items():
            monkeypatch.setenv(name, value)
        reset_runtime_caches()
        return AgentDriver(aws, fake, context)

    yield make
    for fake in started:
        fake.__exit__(None, None, None)
