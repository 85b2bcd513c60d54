"""Prices: COGNITION_LLM_PRICES first, then genai-prices' bundled table (never fetched over
the network), else a clear error; costs and reservations are exact Decimals."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal

import pytest

from agents.llm_settings import llm_settings
from agents.logic.pricing import Price, Tier, cost_usd, max_cost_usd, price_of
from agents.models.llm import PriceUnknown, ProviderConfigError


@pytest.fixture
def prices(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("COGNITION_LLM_PRICES", raising=False)
    llm_settings.cache_clear()
    yield monkeypatch
    llm_settings.cache_clear()


def test_configured_prices_win_and_cost_exactly(prices: pytest.MonkeyPatch) -> None:
    prices.setenv(
        "COGNITION_LLM_PRICES",
        '{"gpt-4o-mini": {"input": 0.1, "output": 0.3}, "llama3.2": {"input": 0, "output": 0}}',
    )
    price = price_of("gpt-4o-mini", "openai")
    assert price == Price(Decimal("0.1"), Decimal("0.3"))
    assert cost_usd(price, 1234, 567) == Decimal("0.0002935")  # 1234*0.1/1e6 + 567*0.3/1e6
    assert max_cost_usd(price, 1000) == Decimal("0.0003")  # the whole cap at the output rate
    assert cost_usd(price_of("llama3.2", "openai"), 10**6, 10**6) == 0


def test_the_bundled_table_prices_known_models_without_touching_the_network(
    prices: pytest.MonkeyPatch,
) -> None:
    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("genai-prices tried to reach the network")

    prices.setattr(socket.socket, "connect", no_network)
    openai = price_of("gpt-4o-mini", "openai")
    assert (openai.input_usd_per_mtok, openai.output_usd_per_mtok, openai.source) == (
        Decimal("0.15"),
        Decimal("0.6"),
        "genai-prices",
    )
    assert price_of(
        "anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock"
    ).output_usd_per_mtok == Decimal(4)
    sonnet = price_of("claude-sonnet-4-5", "anthropic")
    assert sonnet.tiers  # its long-context prices
    assert cost_usd(sonnet, 1000, 100) == Decimal("0.0045")  # 1000*3/1e6 + 100*15/1e6


def test_a_tier_applies_to_the_whole_call_and_the_reservation_takes_the_highest_rate() -> None:
    price = Price(Decimal(3), Decimal(15), (Tier(200_000, Decimal(6), Decimal("22.5")),))
    assert cost_usd(price, 200_000, 0) == Decimal("0.6")
    assert cost_usd(price, 200_001, 1000) == Decimal("1.200006") + Decimal("0.0225")
    assert max_cost_usd(price, 1000) == Decimal("0.0225")


def test_an_unknown_model_fails_saying_how_to_price_it(prices: pytest.MonkeyPatch) -> None:
    with pytest.raises(PriceUnknown) as unknown:
        price_of("my-finetune", "openai")
    assert "no price for model 'my-finetune' (provider openai): set COGNITION_LLM_PRICES" in str(
        unknown.value
    )
    assert '{"my-finetune": {"input": ' in str(unknown.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("{not json", "COGNITION_LLM_PRICES is not valid JSON"),
        ('["gpt"]', "COGNITION_LLM_PRICES must be a JSON object"),
        ('{"gpt": {"input": 1}}', "COGNITION_LLM_PRICES['gpt'] must be an object with exactly"),
        (
            '{"gpt": {"input": -1, "output": 2}}',
            "COGNITION_LLM_PRICES['gpt'].input must be a non-negative number",
        ),
        (
            '{"gpt": {"input": 1, "output": "2"}}',
            "COGNITION_LLM_PRICES['gpt'].output must be a non-negative number",
        ),
    ],
)
def test_a_bad_price_table_names_the_bad_entry(
    prices: pytest.MonkeyPatch, table: str, message: str
) -> None:
    prices.setenv("COGNITION_LLM_PRICES", table)
    with pytest.raises(ProviderConfigError) as bad:
        price_of("gpt", "openai")
    assert str(bad.value).startswith(message)
