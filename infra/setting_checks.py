"""Checks for the topology's ``Setting`` values: one function per setting, pure.

Each raises ValueError saying what is wrong with the value; the caller names where the value
came from (a CDK context key at synth, an environment variable in the local runner).
"""

from __future__ import annotations

import json
import math
import re

_CURRENCY = re.compile(r"^[a-z]{3}$")


def currency_code(value: str) -> None:
    """A lower-case ISO 4217 code: three letters a-z (``usd``, ``eur``)."""
    if not _CURRENCY.fullmatch(value):
        raise ValueError(f"must be a lower-case 3-letter ISO currency code like usd, got {value!r}")


def _no_constant(name: str) -> float:
    # json.loads accepts NaN and Infinity by default; a rate can be neither.
    raise ValueError(f"{name} is not a rate")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, item in pairs:
        if key in seen:
            raise ValueError(f"{key!r} is given twice")
        seen[key] = item
    return seen


def fx_rates(value: str) -> None:
    """A JSON object: lower-case 3-letter currency code -> positive finite rate (a number)."""
    example = '{"eur": 1.08, "gbp": 1.27}'
    try:
        rates = json.loads(value, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        raise ValueError(f"must be a JSON object like {example}, got {value!r} ({exc})") from None
    if not isinstance(rates, dict):
        raise ValueError(f"must be a JSON object like {example}, got {value!r}")
    for code, rate in rates.items():
        if not _CURRENCY.fullmatch(code):
            raise ValueError(f"currency {code!r} must be a lower-case 3-letter ISO code like eur")
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        if not number or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"the rate of {code} must be a positive number, got {rate!r}")


LLM_PROVIDERS = ("openai", "bedrock", "anthropic", "replay")


def llm_provider(value: str) -> None:
    if value not in LLM_PROVIDERS:
        raise ValueError(f"must be one of {', '.join(LLM_PROVIDERS)}, got {value!r}")


def non_empty(value: str) -> None:
    if not value.strip():
        raise ValueError("must not be empty")


def empty_or_url(value: str) -> None:
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"must be an http(s) URL, got {value!r}")


def token_count(value: str) -> None:
    if not value.isdigit() or not 1024 <= int(value) <= 2_000_000:
        raise ValueError(f"must be a whole number of tokens from 1024 to 2000000, got {value!r}")


def llm_prices(value: str) -> None:
    """A JSON object: model -> {"input": usd per million, "output": usd per million}."""
    example = '{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}'
    try:
        prices = json.loads(value, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        raise ValueError(f"must be a JSON object like {example}, got {value!r} ({exc})") from None
    if not isinstance(prices, dict):
        raise ValueError(f"must be a JSON object like {example}, got {value!r}")
    for model, entry in prices.items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            raise ValueError(f'the price of {model!r} must be {{"input": ..., "output": ...}}')
        for side, rate in entry.items():
            number = isinstance(rate, int | float) and not isinstance(rate, bool)
            if not number or not math.isfinite(rate) or rate < 0:
                raise ValueError(f"the {side} price of {model!r} must be a number >= 0")


def redis_url(value: str) -> None:
    """Empty (no Redis), or ``redis://`` / ``rediss://`` with a host: ``redis://cache:6379/0``."""
    if not value:
        return
    if not re.fullmatch(r"rediss?://[^\s/]*[^\s/:@][^\s]*", value):
        raise ValueError(
            f"must be a redis:// or rediss:// URL with a host (redis://localhost:6379/0), got "
            f"{value!r}"
        )


_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def kms_key_arn(value: str) -> None:
    """A KMS key's full ARN (``arn:aws:kms:<region>:<account>:key/<id>``), not an alias."""
    if not _KMS_KEY_ARN.fullmatch(value):
        raise ValueError(
            f"must be a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<id>, got {value!r}"
        )


def key_generation(value: str) -> None:
    """A positive whole number: 1 for the stack's first key, one more for each rotation."""
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"must be a whole number from 1 (one more for each rotation), got {value!r}"
        )


def lockout_failures(value: str) -> None:
    """Failed sign-ins before a lock: a whole number from 1 to 100."""
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise ValueError(f"must be a whole number of failures from 1 to 100, got {value!r}")


def cache_seconds(value: str) -> None:
    """How long a warm function may keep an unwrapped data key: 1 to 900 whole seconds (900 is
    the longest an SQS message can be delayed, which an erasure waits out)."""
    if not value.isdigit() or not 1 <= int(value) <= 900:
        raise ValueError(f"must be a whole number of seconds from 1 to 900, got {value!r}")
