"""A CloudWatch alarm notification as the ``cloudwatch.alarm`` gauge reading its alert needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alerts.logic.alarms import alarm_label, alarm_reading
from alerts.logic.default_rules import default_rules
from alerts.logic.evaluation import plan_rule
from alerts.models.alarms import parse_alarm_notification
from pydantic import ValidationError

from cognitionos.metrics_store import Series

NOTIFICATION = {
    "AlarmName": "CognitionOS-AlertsEvaluateJobErrors",
    "NewStateValue": "ALARM",
    "StateChangeTime": "2025-05-01T11:03:00.412+0000",
    "NewStateReason": "Threshold Crossed",
    "Trigger": {"MetricName": "Errors"},
}


def test_alarm_is_1_ok_is_0_at_the_alarms_own_state_change_time() -> None:
    fired = alarm_reading(parse_alarm_notification(json.dumps(NOTIFICATION)))
    ok = alarm_reading(
        parse_alarm_notification(json.dumps({**NOTIFICATION, "NewStateValue": "OK"}))
    )
    assert fired is not None and ok is not None
    assert (fired.labels, fired.value, ok.value) == (
        {"alarm": "CognitionOS-AlertsEvaluateJobErrors"},
        1,
        0,
    )
    assert fired.at == datetime(2025, 5, 1, 11, 3, 0, 412000, tzinfo=UTC).timestamp()


def test_insufficient_data_is_no_reading_and_an_sns_envelope_is_opened() -> None:
    unsure = {**NOTIFICATION, "NewStateValue": "INSUFFICIENT_DATA"}
    assert alarm_reading(parse_alarm_notification(json.dumps(unsure))) is None
    envelope = {"Type": "Notification", "Message": json.dumps(NOTIFICATION)}
    assert parse_alarm_notification(json.dumps(envelope)).alarm_name == NOTIFICATION["AlarmName"]
    iso = {**NOTIFICATION, "StateChangeTime": "2025-05-01T11:03:00Z"}
    assert parse_alarm_notification(json.dumps(iso)).state_changed_at.tzinfo is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"NewStateValue": "BROKEN"}, "NewStateValue"),
        ({"StateChangeTime": "yesterday"}, "StateChangeTime"),
        ({"StateChangeTime": "2025-05-01T11:03:00"}, "StateChangeTime"),  # no offset
        ({"AlarmName": ""}, "AlarmName"),
    ],
)
def test_a_notification_that_cannot_be_read_is_refused_naming_the_field(
    change: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        parse_alarm_notification(json.dumps({**NOTIFICATION, **change}))


def test_an_alarm_name_becomes_a_label_the_metrics_store_accepts() -> None:
    assert alarm_label("a,b=c#d") == "a_b_c_d"
    assert len(alarm_label("x" * 255)) == 100


def test_the_builtin_rule_fires_one_alert_per_alarm_and_resolves_it_on_ok() -> None:
    [rule] = [r for r in default_rules([]) if r.metric == "cloudwatch.alarm"]
    alarms = [Series({"alarm": "A"}, 1), Series({"alarm": "B"}, 0)]
    plan = plan_rule(rule, alarms, {})
    assert [f.labels for f in plan.fire] == [{"source": "cloudwatch", "alarm": "A"}]
    assert plan.fire[0].summary == "CloudWatch alarm A is in ALARM"
