"""The checks the stack (at synth) and the local runner (at start) apply to settings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.setting_checks import currency_code, fx_rates

codes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=3)
rates = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@given(st.dictionaries(codes, rates))
def test_any_object_of_codes_to_positive_rates_is_accepted(table: dict[str, float]) -> None:
    fx_rates(json.dumps(table))


@given(st.dictionaries(codes, rates, min_size=1), st.data())
def test_one_rate_at_or_below_zero_is_refused_naming_its_currency(
    table: dict[str, float], data: st.DataObject
) -> None:
    code = data.draw(st.sampled_from(sorted(table)))
    table[code] = data.draw(st.sampled_from([0, -1, -0.5, 0.0]))
    with pytest.raises(ValueError, match=f"the rate of {code} must be a positive number"):
        fx_rates(json.dumps(table))


@pytest.mark.parametrize("value", ['{"eur": Infinity}', '{"eur": NaN}', '{"eur": -Infinity}'])
def test_a_rate_cannot_be_infinite_or_not_a_number(value: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        fx_rates(value)


@pytest.mark.parametrize("value", ['{"eur": true}', '{"eur": null}', '{"eur": [1]}'])
def test_a_rate_must_be_a_number(value: str) -> None:
    with pytest.raises(ValueError, match="the rate of eur must be a positive number"):
        fx_rates(value)


@pytest.mark.parametrize("value", ["usd", "eur", "jpy"])
def test_a_lower_case_code_is_a_currency(value: str) -> None:
    currency_code(value)


@pytest.mark.parametrize("value", ["USD", "us", "usdd", " usd", "u5d", "€"])
def test_anything_else_is_not_a_currency(value: str) -> None:
    with pytest.raises(ValueError, match="lower-case 3-letter ISO currency code"):
        currency_code(value)
