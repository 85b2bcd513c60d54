"""The topology's ``Setting`` values for this deployment, from CDK context, checked at synth.

``cdk deploy -c fxRates='{"eur": 1.08}' -c reportingCurrency=usd``, or the same keys in
cdk.json's ``context``, where a value may be a JSON object: it is JSON-encoded, since a
function's environment holds strings only.
"""

from __future__ import annotations

import json

from constructs import Construct

from infra import topology


class SettingError(ValueError):
    """A context value a Setting refuses; the message names the context key."""


def context_value(scope: Construct, setting: topology.Setting) -> str:
    """The value ``setting`` takes in this deployment: its context value, else its default."""
    raw = scope.node.try_get_context(setting.context)
    if raw is None:
        value = setting.default
    elif isinstance(raw, str):
        value = raw
    else:
        value = json.dumps(raw)
    try:
        setting.check(value)
    except ValueError as exc:
        raise SettingError(
            f"CDK context {setting.context!r} (-c {setting.context}=..., sets {setting.env}): {exc}"
        ) from None
    return value


def deployment_settings(scope: Construct) -> dict[str, str]:
    """Environment variable -> value, for every Setting the topology declares."""
    return {setting.env: context_value(scope, setting) for setting in topology.SETTINGS}
