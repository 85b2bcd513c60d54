"""Consumer of the billing events FIFO queue: applies each Stripe event once, whether it
came as itself or as a claim check on a body parked in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.billing_state import BillingState
from billing.dal.dunning import dunning_service
from billing.dal.event_bodies import EventBodies
from billing.dal.event_log import EventLog
from billing.dal.stripe_api import ConfiguredStripeReader
from billing.logic.claim_checks import claimed_event
from billing.logic.follow_ups import DunningFollowUp
from billing.logic.process import apply_event
from billing.logic.queued_messages import parse_message
from billing.models.events import ClaimCheck, StripeEventEnvelope
from billing.settings import ProcessSettings, process_settings
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
    message = parse_message(record.body)
    settings = process_settings()
    if isinstance(message, ClaimCheck):
        apply_claim_check(message, settings)
    else:
        apply_stripe_event(message, settings)


def apply_claim_check(claim: ClaimCheck, settings: ProcessSettings) -> None:
    """Apply the parked event as if it had been queued itself, then delete its body: it
    holds personal data. Deleted only after success, so a retry still finds it."""
    bodies = EventBodies(settings.event_bodies_bucket)
    event = claimed_event(claim, bodies, EventLog(dynamodb_table(settings.billing_table)))
    if event is None:
        logger.info(
            "claim check of an applied event redelivered; its body is already deleted",
            extra={"stripe_event_id": claim.event_id},
        )
        metrics.add_metric(OUTCOME_METRICS["duplicate"], MetricUnit.Count, 1)
        return
    apply_stripe_event(event, settings)
    bodies.delete(claim.key)


def apply_stripe_event(event: StripeEventEnvelope, settings: ProcessSettings) -> None:
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
