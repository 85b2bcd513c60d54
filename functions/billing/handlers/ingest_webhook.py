"""POST /webhooks/stripe: verify, log once, queue, then answer Stripe."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.logic.intake import accept_event
from billing.logic.webhook import verify_stripe_event
from billing.settings import ingest_settings
from cognitionos.aws import dynamodb_table
from cognitionos.http import body_text, create_resolver
from cognitionos.observability import MetricUnit, logger, metrics, traced

SECRET_MAX_AGE_S = 300  # a rolled webhook secret is picked up within five minutes

# No request model to validate: the body must reach the signature check byte for byte.
app = create_resolver(enable_validation=False)


@app.post("/webhooks/stripe")
def receive_stripe_event() -> dict[str, Any]:
    settings = ingest_settings()
    secret = parameters.get_secret(settings.stripe_webhook_secret_id, max_age=SECRET_MAX_AGE_S)
    raw_body = body_text(app.current_event)
    event = verify_stripe_event(
        raw_body,
        app.current_event.headers.get("stripe-signature"),
        str(secret),
    )
    logger.append_keys(stripe_event_id=event.id, stripe_event_type=event.type)
    duplicate = accept_event(
        event,
        raw_body,
        int(time.time()),
        EventLog(dynamodb_table(settings.billing_table)),
        EventQueue(settings.billing_events_queue_url),
    )
    metrics.add_metric(
        "StripeEventsDuplicate" if duplicate else "StripeEventsAccepted", MetricUnit.Count, 1
    )
    logger.info("stripe event accepted", extra={"duplicate": duplicate})
    return {"received": True, "duplicate": duplicate}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ingest_settings()  # a missing variable fails the cold start, naming it
    return app.resolve(event, context)
