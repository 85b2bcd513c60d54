"""Consumer of the billing events FIFO queue: applies each Stripe event once."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.billing_state import BillingState
from billing.dal.dunning import dunning_service
from billing.dal.event_log import EventLog
from billing.dal.stripe_api import ConfiguredStripeReader
from billing.logic.follow_ups import DunningFollowUp
from billing.logic.process import apply_event
from billing.logic.webhook import envelope_from
from billing.settings import process_settings
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.observability import MetricUnit, logger, metrics, traced

OUTCOME_METRICS = {
    "applied": "StripeEventsApplied",
    "stale": "StripeEventsStale",  # an older version than the one stored: status only
    "duplicate": "StripeEventsRedelivered",
    "ignored": "StripeEventsIgnored",
}


# A failed record only holds back later records of its own group (customer), not the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def apply_record(record: SQSRecord) -> None:
    event = envelope_from(json.loads(record.body))
    settings = process_settings()
    table = dynamodb_table(settings.billing_table)
    state = BillingState(table, subject_keyring())
    outcome = apply_event(
        event,
        EventLog(table),
        state,
        ConfiguredStripeReader(settings.stripe_api_key_secret_id, settings.stripe_api_base),
        follow_ups=(DunningFollowUp(dunning_service(table, settings), state),),
    )
    logger.info(
        "stripe event applied",
        extra={"stripe_event_id": event.id, "stripe_event_type": event.type, "outcome": outcome},
    )
    metrics.add_metric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    process_settings()
    response = process_partial_response(
        event=event, record_handler=apply_record, processor=processor, context=context
    )
    return dict(response)
