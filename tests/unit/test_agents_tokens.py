"""Token estimates from characters, calibrated per model by the usage providers report:
bounded, monotone in the text's length, and not swung by one odd reply."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agents.logic.tokens import (
    DEFAULT_CHARS_PER_TOKEN,
    MAX_CHARS_PER_TOKEN,
    MAX_STEP_FACTOR,
    MIN_CHARS_PER_TOKEN,
    Calibration,
    calibrated_chars_per_token,
    estimate_request_tokens,
    estimate_tokens,
    request_chars,
)
from agents.models.llm import TOOLS, Message, ModelRequest

RATIOS = st.floats(min_value=0.01, max_value=100, allow_nan=False)
REPLIES = st.lists(
    st.tuples(st.integers(0, 400_000), st.integers(0, 200_000)), min_size=1, max_size=40
)


def test_an_estimate_rounds_up_and_defaults_to_four_chars_per_token() -> None:
    assert estimate_tokens("", DEFAULT_CHARS_PER_TOKEN) == 0
    assert estimate_tokens("a" * 9, DEFAULT_CHARS_PER_TOKEN) == 3
    assert Calibration.default().chars_per_token == 4.0


@given(st.text(max_size=500), st.text(max_size=500), RATIOS)
def test_an_estimate_grows_with_the_text(text: str, more: str, ratio: float) -> None:
    assert estimate_tokens(text, ratio) <= estimate_tokens(text + more, ratio)
    assert estimate_tokens(text, ratio) <= len(text)  # never more than one per character


@given(REPLIES)
def test_calibration_stays_bounded_and_moves_little_per_reply(
    replies: list[tuple[int, int]],
) -> None:
    calibration = None
    for prompt_chars, reported in replies:
        before = calibration.chars_per_token if calibration else DEFAULT_CHARS_PER_TOKEN
        calibration = calibrated_chars_per_token(calibration, prompt_chars, reported)
        assert MIN_CHARS_PER_TOKEN <= calibration.chars_per_token <= MAX_CHARS_PER_TOKEN
        assert before / MAX_STEP_FACTOR - 1e-9 <= calibration.chars_per_token
        assert calibration.chars_per_token <= before * MAX_STEP_FACTOR + 1e-9


def test_calibration_converges_on_what_the_provider_reports_and_ignores_empty_usage() -> None:
    calibration = None
    for _ in range(40):  # code-like text: ~2.5 characters a token
        calibration = calibrated_chars_per_token(calibration, 10_000, 4_000)
    assert calibration is not None
    assert abs(calibration.chars_per_token - 2.5) < 0.05
    assert calibrated_chars_per_token(calibration, 10_000, 0) == calibration
    odd = calibrated_chars_per_token(calibration, 10_000, 10)  # one absurd reply
    assert odd.chars_per_token <= calibration.chars_per_token * MAX_STEP_FACTOR


def test_the_request_size_counts_system_messages_and_the_tool_schema() -> None:
    request = ModelRequest(
        "m", "abc", (Message("user", "de"), Message("assistant", "f")), TOOLS["submit_summary"], 10
    )
    schema_chars = request_chars(request) - 6
    assert schema_chars > len("submit_summary") + 50
    calibration = Calibration(2.0, 10)
    assert estimate_request_tokens(request, calibration) == -(-request_chars(request) // 2)
    assert estimate_request_tokens(request, None) == -(-request_chars(request) // 4)
