"""Consumer of ``alarm-notifications``: the stack's CloudWatch alarms, through their SNS
topic, become the ``cloudwatch.alarm`` gauge that the built-in rule turns into alerts
(``logic/alarms.py`` says why this way)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from alerts.logic.alarms import ALARM_METRIC, alarm_reading
from alerts.models.alarms import parse_alarm_notification
from cognitionos import metrics_store
from cognitionos.observability import MetricUnit, logger, metrics, traced

processor = BatchProcessor(event_type=EventType.SQS)


def record_alarm_state(record: SQSRecord) -> None:
    """A message that is not an alarm notification raises: retried, then the DLQ."""
    notification = parse_alarm_notification(record.body)
    reading = alarm_reading(notification)
    logger.info(
        "cloudwatch alarm state",
        extra={
            "alarm": notification.alarm_name,
            "state": notification.new_state,
            "changed_at": notification.state_changed_at.isoformat(),
        },
    )
    if reading is None:
        metrics.add_metric("AlarmStatesIgnored", MetricUnit.Count, 1)
        return
    metrics_store.set_gauge(ALARM_METRIC, reading.value, labels=reading.labels, at=reading.at)
    metrics.add_metric("AlarmStatesRecorded", MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics_store.metrics_settings()  # a missing METRICS_TABLE stops the cold start, by name
    response = process_partial_response(
        event=event, record_handler=record_alarm_state, processor=processor, context=context
    )
    return dict(response)
