"""Consumer of the billing events FIFO queue: applies each Stripe event once, whether it
came as itself or as a claim check on a body parked in S3, and derives a customer's records
again when a coupon they waited for becomes known."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.billing_state import BillingState
from billing.dal.coupons import CouponArrivals, StoredCoupons
from billing.dal.dunning import dunning_service
from billing.dal.event_bodies import EventBodies
from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.dal.stripe_api import ConfiguredStripeReader
from billing.logic.claim_checks import claimed_event
from billing.logic.follow_ups import (
    CouponFollowUp,
    DunningFollowUp,
    MetricsFollowUp,
    MrrGauge,
    MrrGaugeFollowUp,
)
from billing.logic.process import Sources, apply_event, rederive_customer
from billing.logic.queued_messages import parse_message
from billing.models.events import ClaimCheck, RederiveRequest, StripeEventEnvelope
from billing.settings import ProcessSettings, process_settings
from cognitionos import deadline, metrics_store
from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import blind_index, blind_index_key, subject_keyring
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
EVENTS_FAILED = "billing.events_failed"  # each failed attempt (cognitionos.metrics_store)

# A failed record only holds back later records of its own group (customer), not the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


class Processor:
    """One record's view of billing: its state, its sources beyond the event, the queue."""

    def __init__(self, settings: ProcessSettings) -> None:
        self.settings = settings
        self.table = dynamodb_table(settings.billing_table)
        self.state = BillingState(
            self.table, subject_keyring(), audit=audit_log(), email_index=email_blind_index
        )
        self.arrivals = CouponArrivals(self.state, EventQueue(settings.billing_events_queue_url))
        stripe = ConfiguredStripeReader(settings.stripe_api_key_secret_id, settings.stripe_api_base)
        self.coupons = StoredCoupons(self.state, stripe, self.arrivals)
        self.sources = Sources(stripe, self.coupons)
        self.mrr_gauge = MrrGauge(self.state.record_set, metrics_store.set_gauge, time.time)


def email_blind_index(email: str) -> str:
    """A customer's email as the customer-email index holds it (no plaintext stored)."""
    return blind_index(email, blind_index_key())


def apply_record(record: SQSRecord) -> None:
    deadline.require(RECORD_MIN_S, "an event")
    message = parse_message(record.body)
    on = Processor(process_settings())
    if isinstance(message, ClaimCheck):
        apply_claim_check(message, on)
    elif isinstance(message, RederiveRequest):
        rederive(message, on)
    else:
        apply_stripe_event(message, on)
    _report_unknown_coupons(on.coupons)


def apply_claim_check(claim: ClaimCheck, on: Processor) -> None:
    """Apply the parked event as if it had been queued itself, then delete its body: it
    holds personal data. Deleted only after success, so a retry still finds it."""
    bodies = EventBodies(on.settings.event_bodies_bucket)
    event = claimed_event(claim, bodies, EventLog(on.table))
    if event is None:
        logger.info(
            "claim check of an applied event redelivered; its body is already deleted",
            extra={"stripe_event_id": claim.event_id},
        )
        metrics.add_metric(OUTCOME_METRICS["duplicate"], MetricUnit.Count, 1)
        return
    apply_stripe_event(event, on)
    bodies.delete(claim.key)


def apply_stripe_event(event: StripeEventEnvelope, on: Processor) -> None:
    try:
        outcome = apply_event(
            event,
            EventLog(on.table),
            on.state,
            on.sources,
            follow_ups=(
                MetricsFollowUp(metrics_store.increment),  # first: right after the commit
                MrrGaugeFollowUp(on.mrr_gauge),
                DunningFollowUp(dunning_service(on.table, on.settings), on.state),
                CouponFollowUp(on.arrivals),
            ),
        )
    except Exception:
        metrics_store.increment(EVENTS_FAILED)  # the event is marked failed; it goes back
        raise
    logger.info(
        "stripe event applied",
        extra={"stripe_event_id": event.id, "stripe_event_type": event.type, "outcome": outcome},
    )
    metrics.add_metric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1)


def rederive(request: RederiveRequest, on: Processor) -> None:
    changed = rederive_customer(request.customer_id, on.state, on.sources)
    if changed:
        on.mrr_gauge.emit(request.customer_id)
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
