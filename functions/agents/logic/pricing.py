"""What a model call costs, exactly (Decimal USD).

Prices come from ``COGNITION_LLM_PRICES`` (JSON ``{"<model>": {"input": usd_per_million,
"output": usd_per_million}}``), else from the ``genai-prices`` table bundled in the package
(read from the installed data only: its ``UpdatePrices`` fetcher is never started), else the
first call fails with PriceUnknown. A ``replay`` model costs nothing unless the table says.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agents.llm_settings import llm_settings
from agents.models.llm import PriceUnknown, ProviderConfigError

MILLION = Decimal(1_000_000)
ZERO = Decimal(0)
# Our provider names -> genai-prices provider ids.
_GENAI_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "bedrock": "aws"}


@dataclass(frozen=True)
class Tier:
    """Rates that apply to the whole call once its input passes ``above_input_tokens``
    (the cliff model the providers use, e.g. Anthropic's long-context prices)."""

    above_input_tokens: int
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal


@dataclass(frozen=True)
class Price:
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    tiers: tuple[Tier, ...] = ()  # ascending by threshold
    source: str = "COGNITION_LLM_PRICES"

    def rates(self, input_tokens: int) -> tuple[Decimal, Decimal]:
        """(input, output) USD per million tokens for a call with this many input tokens."""
        rates = (self.input_usd_per_mtok, self.output_usd_per_mtok)
        for tier in self.tiers:
            if input_tokens > tier.above_input_tokens:
                rates = (tier.input_usd_per_mtok, tier.output_usd_per_mtok)
        return rates


FREE = Price(ZERO, ZERO, source="replay")


def cost_usd(price: Price, input_tokens: int, output_tokens: int) -> Decimal:
    input_rate, output_rate = price.rates(input_tokens)
    return (input_tokens * input_rate + output_tokens * output_rate) / MILLION


def max_cost_usd(price: Price, max_tokens: int) -> Decimal:
    """What a call is reserved at before it is made: its whole ``max_tokens`` cap at the
    output rate (the highest tier's, as the input size is not known for sure yet)."""
    output_rate = max(
        [price.output_usd_per_mtok, *(tier.output_usd_per_mtok for tier in price.tiers)]
    )
    return max_tokens * output_rate / MILLION


def price_of(model: str, provider: str) -> Price:
    configured = configured_prices(llm_settings().cognition_llm_prices)
    if model in configured:
        return configured[model]
    if provider == "replay":
        return FREE
    found = _genai_price(model, _GENAI_PROVIDER.get(provider, provider))
    if found is None:
        raise PriceUnknown(
            f"no price for model {model!r} (provider {provider}): set COGNITION_LLM_PRICES to "
            f'JSON such as {{"{model}": {{"input": 0.15, "output": 0.6}}}} '
            "(USD per million input and output tokens; 0 for a local model)"
        )
    return found


@functools.cache
def configured_prices(raw: str | None) -> dict[str, Price]:
    """The ``COGNITION_LLM_PRICES`` table, or a ProviderConfigError naming the bad entry."""
    if not raw or not raw.strip():
        return {}
    try:
        table = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except ValueError as bad:
        raise ProviderConfigError(f"COGNITION_LLM_PRICES is not valid JSON: {bad}") from None
    if not isinstance(table, dict):
        raise ProviderConfigError(
            'COGNITION_LLM_PRICES must be a JSON object {"<model>": {"input": .., "output": ..}}'
        )
    return {str(model): _entry(str(model), entry) for model, entry in table.items()}


def _entry(model: str, entry: Any) -> Price:
    where = f"COGNITION_LLM_PRICES[{model!r}]"
    if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
        raise ProviderConfigError(
            f"{where} must be an object with exactly input and output (USD per million "
            f"tokens), got {entry!r}"
        )
    rates = []
    for side in ("input", "output"):
        value = entry[side]
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise ProviderConfigError(
                f"{where}.{side} must be a non-negative number of USD per million tokens, "
                f"got {value!r}"
            )
        rates.append(value)
    return Price(rates[0], rates[1])


def _genai_price(model: str, provider_id: str) -> Price | None:
    """The bundled table's current price, or None when it does not know the model."""
    from genai_prices import data_snapshot, types  # noqa: PLC0415 (only when needed)

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    prices = info.get_prices(datetime.now(UTC))
    sides = [getattr(prices, "input_mtok", None), getattr(prices, "output_mtok", None)]
    if any(side is None for side in sides):
        return None

    def at(side: Any, input_tokens: float) -> Decimal:
        if not isinstance(side, types.TieredPrices):
            return Decimal(side)
        rate = side.base
        for tier in side.tiers:
            if input_tokens > tier.start:
                rate = tier.price
        return Decimal(rate)

    starts = sorted(
        {
            tier.start
            for side in sides
            if isinstance(side, types.TieredPrices)
            for tier in side.tiers
        }
    )
    try:
        tiers = tuple(
            Tier(start, at(sides[0], start + 1), at(sides[1], start + 1)) for start in starts
        )
        return Price(at(sides[0], 0), at(sides[1], 0), tiers, source="genai-prices")
    except (InvalidOperation, TypeError):  # a price shape this code does not know
        return None
