"""Consumer of the billing events FIFO queue: applies each Stripe event once, and derives a
customer's records again when a coupon they waited for becomes known."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.billing_state import BillingState
from billing.dal.coupons import CouponArrivals, StoredCoupons
from billing.dal.dunning import dunning_service
from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.dal.stripe_api import ConfiguredStripeReader
from billing.logic.envelope import envelope_from
from billing.logic.follow_ups import CouponFollowUp, DunningFollowUp
from billing.logic.process import Sources, apply_event, rederive_customer
from billing.models.events import REDERIVE, RederiveRequest
from billing.settings import process_settings
from cognitionos import deadline
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.observability import MetricUnit, logger, metrics, traced

OUTCOME_METRICS = {
    "applied": "StripeEventsApplied",
    "stale": "StripeEventsStale",  # an older version than the one stored: status only
    "duplicate": "StripeEventsRedelivered",
    "ignored": "StripeEventsIgnored",
}
# A record is not started with less left than its DynamoDB reads and one commit may take;
# each Stripe call asks for its own worst case (dal/stripe_api.py) before it is made.
RECORD_MIN_S = 3.0

# A failed record only holds back later records of its own group (customer), not the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def apply_record(record: SQSRecord) -> None:
    deadline.require(RECORD_MIN_S, "an event")
    message = json.loads(record.body)
    settings = process_settings()
    table = dynamodb_table(settings.billing_table)
    state = BillingState(table, subject_keyring())
    arrivals = CouponArrivals(state, EventQueue(settings.billing_events_queue_url))
    stripe = ConfiguredStripeReader(settings.stripe_api_key_secret_id, settings.stripe_api_base)
    coupons = StoredCoupons(state, stripe, arrivals)
    sources = Sources(stripe, coupons)
    if isinstance(message, dict) and message.get("object") == REDERIVE:
        _rederive(RederiveRequest.model_validate(message), state, sources)
    else:
        event = envelope_from(message)
        outcome = apply_event(
            event,
            EventLog(table),
            state,
            sources,
            follow_ups=(
                DunningFollowUp(dunning_service(table, settings), state),
                CouponFollowUp(arrivals),
            ),
        )
        logger.info(
            "stripe event applied",
            extra={
                "stripe_event_id": event.id,
                "stripe_event_type": event.type,
                "outcome": outcome,
            },
        )
        metrics.add_metric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1)
    _report_unknown_coupons(coupons)


def _rederive(request: RederiveRequest, state: BillingState, sources: Sources) -> None:
    changed = rederive_customer(request.customer_id, state, sources)
    logger.info(
        "customer records derived again",
        extra={
            "customer_id": request.customer_id,
            "coupon_id": request.coupon_id,
            "changed": changed,
        },
    )
    metrics.add_metric("CustomersRederived", MetricUnit.Count, 1)


def _report_unknown_coupons(coupons: StoredCoupons) -> None:
    """Discounts priced at full price for now: their coupons' terms are not known yet."""
    if coupons.unknown:
        logger.warning(
            "discount terms unknown: coupons not yet seen (enable coupon.* events, or set a "
            "Stripe key)",
            extra={"coupon_ids": sorted(coupons.unknown)},
        )
        metrics.add_metric("DiscountTermsUnknown", MetricUnit.Count, len(coupons.unknown))


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    process_settings()
    with deadline.of_invocation(context):
        response = process_partial_response(
            event=event, record_handler=apply_record, processor=processor, context=context
        )
    return dict(response)
