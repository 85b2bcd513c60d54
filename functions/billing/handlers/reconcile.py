"""The ``billing-reconcile`` job: queue Stripe events whose webhook delivery failed."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.dal.stripe_api import StripeApi, is_api_key
from billing.dal.sweeps import SweepCursor
from billing.logic.reconcile import requeue_undelivered, sweep_start
from billing.settings import reconcile_settings
from cognitionos.aws import dynamodb_table
from cognitionos.jobs import job_name
from cognitionos.observability import MetricUnit, logger, metrics, traced


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = reconcile_settings()
    logger.append_keys(job=job_name(event))
    api_key = str(parameters.get_secret(settings.stripe_api_key_secret_id, max_age=60))
    if not is_api_key(api_key):
        logger.warning("billing-reconcile skipped: no Stripe API key in the stripe-api-key secret")
        return {"configured": False, "message": "set the stripe-api-key secret to reconcile"}
    table = dynamodb_table(settings.billing_table)
    cursor = SweepCursor(table)
    now = int(time.time())
    since = sweep_start(cursor.last_swept(), now)
    summary = requeue_undelivered(
        StripeApi(api_key, settings.stripe_api_base).undelivered_events(since),
        since,
        now,
        EventLog(table),
        EventQueue(settings.billing_events_queue_url),
    )
    cursor.advance(now)
    metrics.add_metric("ReconciledStripeEvents", MetricUnit.Count, summary.new)
    logger.info("billing-reconcile done", extra=summary.as_dict())
    return {"configured": True, **summary.as_dict()}
