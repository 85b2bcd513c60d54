"""The ``billing-reconcile`` job: hourly, queue Stripe events whose webhook delivery failed;
nightly (or whenever it runs on demand), compare stored subscriptions with Stripe's list and
queue a repair for each one that differs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.event_bodies import EventBodies
from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.dal.stripe_api import StripeApi, stripe_api_from_secret
from billing.dal.subscription_comparison import RepairLog, stored_subscriptions
from billing.dal.sweeps import COMPARISON_KEY, SweepCursor
from billing.logic import reconcile
from billing.logic.claim_checks import ClaimCheckingSender
from billing.settings import reconcile_settings
from cognitionos.aws import dynamodb_table
from cognitionos.jobs import is_on_demand, job_name
from cognitionos.observability import MetricUnit, logger, metrics, traced
from cognitionos.timeutil import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = reconcile_settings()
    logger.append_keys(job=job_name(event))
    table = dynamodb_table(settings.billing_table)
    log = EventLog(table)
    # Read Stripe in the webhook endpoint's version, the shape stored state comes in.
    api_version = log.webhook_api_version()
    stripe = stripe_api_from_secret(
        settings.stripe_api_key_secret_id, settings.stripe_api_base, api_version
    )
    if stripe is None:
        logger.warning("billing-reconcile skipped: no Stripe API key in the stripe-api-key secret")
        return {"configured": False, "message": "set the stripe-api-key secret to reconcile"}
    logger.append_keys(stripe_api_version=api_version or "the SDK's")
    # Stripe's API returns events of any size; a large one is parked as the webhook does.
    queue = ClaimCheckingSender(
        EventQueue(settings.billing_events_queue_url), EventBodies(settings.event_bodies_bucket)
    )
    now = int(time.time())  # before Stripe is read: repair events are no newer than this

    sweeps = SweepCursor(table)
    since = reconcile.sweep_start(sweeps.last_swept(), now)
    sweep = reconcile.requeue_undelivered(stripe.undelivered_events(since), since, now, log, queue)
    sweeps.advance(now)
    metrics.add_metric("ReconciledStripeEvents", MetricUnit.Count, sweep.new)
    summary: dict[str, Any] = {"configured": True, **sweep.as_dict()}

    comparisons = SweepCursor(table, COMPARISON_KEY)
    due_at = reconcile.next_comparison_at(comparisons.last_swept(), now, is_on_demand(event))
    if due_at is None:
        summary |= _compare_subscriptions(stripe, table, now, log, queue, api_version)
        comparisons.advance(now)
    else:
        summary["next_comparison_at"] = iso(due_at)
    logger.info("billing-reconcile done", extra=summary)
    return summary


def _compare_subscriptions(  # noqa: PLR0917 (the run's parts, passed on)
    stripe: StripeApi,
    table: Table,
    now: int,
    log: EventLog,
    queue: ClaimCheckingSender,
    api_version: str | None,
) -> dict[str, Any]:
    stored = stored_subscriptions(table)
    result = reconcile.compare_subscriptions(
        stripe.subscriptions(),
        stored,
        now,
        log=log,
        queue=queue,
        repairs=RepairLog(table),
        api_version=api_version,
    )
    if result.not_in_stripe:
        logger.warning(
            "stored subscriptions that Stripe does not list; left as they are",
            extra={"subscription_ids": list(result.not_in_stripe)},
        )
    metrics.add_metric("SubscriptionsRepaired", MetricUnit.Count, result.repaired)
    metrics.add_metric("SubscriptionsNotInStripe", MetricUnit.Count, len(result.not_in_stripe))
    return result.as_dict()
