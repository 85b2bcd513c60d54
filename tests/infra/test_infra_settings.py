"""Deployment settings (topology ``Setting``s) come from CDK context, checked at synth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App
from infra_synth import cdk_context, synthesize

import app as entry
from infra import topology
from infra.constructs.settings import SettingError

pytestmark = pytest.mark.xdist_group("infra")


def test_context_values_reach_exactly_the_functions_that_declare_them(tmp_path: Path) -> None:
    # cdk.json may hold an object; -c on the command line gives a string.
    configured = synthesize(
        tmp_path,
        fxRates={"eur": 1.08, "gbp": 1.27},
        reportingCurrency="eur",
        operatorLockoutFailures="3",
        keyCacheMaxAgeS="60",
    )
    for fn in topology.FUNCTIONS:
        function = configured.stack.functions.functions[fn.name]
        env = configured.props(function)["Environment"]["Variables"]
        declared = {setting.env for setting in fn.settings}
        assert declared <= set(env)
        assert not ({s.env for s in topology.SETTINGS} - declared) & set(env), fn.name
        if topology.FX_RATES in fn.settings:
            assert json.loads(env["COGNITION_FX_RATES"]) == {"eur": 1.08, "gbp": 1.27}
        if topology.REPORTING_CURRENCY in fn.settings:
            assert env["COGNITION_REPORTING_CURRENCY"] == "eur"
        if topology.OPERATOR_LOCKOUT_FAILURES in fn.settings:
            assert env["COGNITION_OPERATOR_LOCKOUT_FAILURES"] == "3"
        # Every function handling personal data honours the same key-cache bound.
        assert (topology.KEY_CACHE_MAX_AGE in fn.settings) == (fn.pii != "none"), fn.name
        if fn.pii != "none":
            assert env["COGNITION_KEY_CACHE_MAX_AGE_S"] == "60"
    handling_personal_data = {f.name for f in topology.FUNCTIONS if f.pii != "none"}
    assert {f.name for f in topology.FUNCTIONS if f.settings} == {
        "revenue-rollup",
        "revenue-api",
        "agents-step",
        "alerts-dispatch",
        "operator-auth",
        *handling_personal_data,
    }


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("fxRates", '{"eur": 1.08', "must be a JSON object"),
        ("fxRates", "[1.08]", "must be a JSON object"),
        ("fxRates", '{"EUR": 1.08}', "currency 'EUR' must be a lower-case 3-letter ISO code"),
        ("fxRates", {"euro": 1.08}, "currency 'euro' must be a lower-case 3-letter ISO code"),
        ("fxRates", {"eur": 0}, "the rate of eur must be a positive number"),
        ("fxRates", {"eur": "1.08"}, "the rate of eur must be a positive number"),
        ("fxRates", '{"eur": NaN}', "must be a JSON object"),
        ("fxRates", '{"eur": 1.08, "eur": 1.1}', "'eur' is given twice"),
        ("reportingCurrency", "USD", "lower-case 3-letter ISO currency code"),
        ("reportingCurrency", "", "lower-case 3-letter ISO currency code"),
        ("reportingCurrency", 840, "lower-case 3-letter ISO currency code"),
    ],
)
def test_a_bad_context_value_stops_synth_naming_its_key(
    tmp_path: Path, key: str, value: object, problem: str
) -> None:
    app = App(context=cdk_context(**{key: value}), outdir=str(tmp_path))
    with pytest.raises(SettingError) as raised:
        entry.build(app)
    message = str(raised.value)
    assert message.startswith(f"CDK context '{key}' (-c {key}=...")
    assert problem in message
