"""A CloudWatch alarm of the stack as an alert: its state becomes the gauge
``cloudwatch.alarm`` (1 in ALARM, 0 when OK), labelled with the alarm's name, and the built-in
rule ``default-cloudwatch-alarms`` (``> 0``) fires and resolves it like any other alert.

Going through the evaluator rather than opening alerts here keeps one writer of alerts, with
its guarantees (one alert per fingerprint, however runs overlap; silences, inhibition,
routing). The gauge is read at the alarm's own state-change time and the newest reading wins,
so a redelivered or late ALARM never undoes the OK that followed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alerts.models.alarms import AlarmNotification
from cognitionos.metrics_store import MAX_LABEL_VALUE

ALARM_METRIC = "cloudwatch.alarm"
ALARM_LABEL = "alarm"
_NOT_IN_A_LABEL = re.compile(r"[,=#]")  # the metrics store's label separators


@dataclass(frozen=True)
class AlarmReading:
    """``cloudwatch.alarm{alarm=<label>}`` is ``value`` from ``at`` (epoch seconds) on."""

    label: str
    value: int
    at: float

    @property
    def labels(self) -> dict[str, str]:
        return {ALARM_LABEL: self.label}


def alarm_label(alarm_name: str) -> str:
    """The alarm's name as a label value: the store's separators replaced, at most 100
    characters (the stack's alarms are ``<stack>-<id>``, far shorter)."""
    return _NOT_IN_A_LABEL.sub("_", alarm_name)[:MAX_LABEL_VALUE]


def alarm_reading(notification: AlarmNotification) -> AlarmReading | None:
    """ALARM -> 1, OK -> 0; INSUFFICIENT_DATA says nothing either way: None (the alert, if
    any, stays as it is until the alarm decides)."""
    if notification.new_state == "INSUFFICIENT_DATA":
        return None
    return AlarmReading(
        alarm_label(notification.alarm_name),
        1 if notification.new_state == "ALARM" else 0,
        notification.state_changed_at.timestamp(),
    )
