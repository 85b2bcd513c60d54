"""Counting tokens without a tokenizer (its files are not in Lambda and nothing is downloaded
at run time): an estimate from characters, calibrated per model by the input tokens each
provider reports for a prompt whose length we know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from agents.models.llm import ModelRequest

DEFAULT_CHARS_PER_TOKEN = 4.0  # English prose with the common BPE vocabularies
# Code, CJK text and odd vocabularies stay well inside this range.
MIN_CHARS_PER_TOKEN = 1.0
MAX_CHARS_PER_TOKEN = 8.0
# A reply moves the ratio by at most this factor, and the ratio averages the last WINDOW
# replies, so one odd reply (a cached prompt, a server counting differently) cannot swing it.
MAX_STEP_FACTOR = 1.25
WINDOW = 20


@dataclass(frozen=True)
class Calibration:
    chars_per_token: float
    samples: int  # replies it has learnt from

    @classmethod
    def default(cls) -> Calibration:
        return cls(DEFAULT_CHARS_PER_TOKEN, 0)


def estimate_tokens(text: str, chars_per_token: float) -> int:
    """Tokens ``text`` is likely to take, rounded up (a budget errs on the side of more)."""
    if not text:
        return 0
    return math.ceil(len(text) / _bounded(chars_per_token))


def calibrated_chars_per_token(
    previous: Calibration | None, prompt_chars: int, reported_input_tokens: int
) -> Calibration:
    """The calibration after a reply whose prompt had ``prompt_chars`` characters (see
    ``request_chars``) and for which the provider reported ``reported_input_tokens``."""
    current = previous or Calibration.default()
    if prompt_chars <= 0 or reported_input_tokens <= 0:
        return current  # nothing learnt
    observed = _bounded(prompt_chars / reported_input_tokens)
    averaged = current.chars_per_token + (observed - current.chars_per_token) / (
        min(current.samples, WINDOW - 1) + 1
    )
    low = current.chars_per_token / MAX_STEP_FACTOR
    high = current.chars_per_token * MAX_STEP_FACTOR
    return Calibration(_bounded(min(max(averaged, low), high)), current.samples + 1)


def request_chars(request: ModelRequest) -> int:
    """Every character a request sends the model: system, messages and the tool's schema
    (providers count the tool definition as input tokens too)."""
    tool = json.dumps(
        {
            "name": request.tool.name,
            "description": request.tool.description,
            "parameters": request.tool.parameters,
        },
        separators=(",", ":"),
    )
    return len(request.system) + sum(len(m.content) for m in request.messages) + len(tool)


def estimate_request_tokens(request: ModelRequest, calibration: Calibration | None) -> int:
    """The input tokens ``request`` is likely to take with this model's calibration."""
    chars_per_token = (calibration or Calibration.default()).chars_per_token
    return math.ceil(request_chars(request) / _bounded(chars_per_token))


def _bounded(chars_per_token: float) -> float:
    if not math.isfinite(chars_per_token):
        return DEFAULT_CHARS_PER_TOKEN
    return min(max(chars_per_token, MIN_CHARS_PER_TOKEN), MAX_CHARS_PER_TOKEN)
