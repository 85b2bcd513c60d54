"""Consumer of the ``usage-reports`` queue: each usage record becomes one Stripe meter event."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.stripe_meter_events import StripeMeterEvents
from billing.dal.usage_records import UsageRecordTable
from billing.logic.usage_report import attempt_key, report_usage
from billing.models.usage import UsageReportMessage
from billing.settings import usage_report_settings
from cognitionos.aws import dynamodb_table
from cognitionos.observability import MetricUnit, logger, metrics, traced

OUTCOME_METRICS = {
    "reported": "UsageReported",
    "held_by_stripe": "UsageReportedBefore",  # Stripe had it; now marked
    "already_reported": "UsageRedelivered",
}

# A failed record goes back to the queue alone (partial batch response) and is logged with
# its traceback; Powertools' Logger has the logging.Logger methods the processor calls.
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]


def report_record(record: SQSRecord) -> None:
    message = UsageReportMessage.model_validate_json(record.body)
    settings = usage_report_settings()
    outcome = report_usage(
        message.usage_id,
        attempt_key(
            message.usage_id,
            record.message_id,
            int(record.attributes.approximate_receive_count),
        ),
        UsageRecordTable(dynamodb_table(settings.usage_table)),
        StripeMeterEvents(settings.stripe_api_key_secret_id, settings.stripe_api_base),
        int(time.time()),
    )
    logger.info("usage report", extra={"usage_id": message.usage_id, "outcome": outcome})
    metrics.add_metric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    usage_report_settings()
    response = process_partial_response(
        event=event, record_handler=report_record, processor=processor, context=context
    )
    return dict(response)
