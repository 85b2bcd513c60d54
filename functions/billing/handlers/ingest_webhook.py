"""POST /webhooks/stripe: verify, log once, queue (a large body through S3), answer Stripe."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.event_bodies import EventBodies
from billing.dal.event_log import EventLog
from billing.dal.event_queue import EventQueue
from billing.logic.claim_checks import ClaimCheckingSender, require_acceptable_size
from billing.logic.intake import accept_event
from billing.logic.webhook import verify_stripe_event
from billing.settings import ingest_settings
from cognitionos.aws import dynamodb_table
from cognitionos.http import body_bytes, create_resolver, utf8_text
from cognitionos.observability import MetricUnit, logger, metrics, traced

SECRET_MAX_AGE_S = 300  # a rolled webhook secret is picked up within five minutes

# No request model to validate: the body must reach the signature check byte for byte.
app = create_resolver(enable_validation=False)


@app.post("/webhooks/stripe")
def receive_stripe_event() -> dict[str, Any]:
    data = body_bytes(app.current_event)
    require_acceptable_size(len(data))  # a 413 before the secret is read or anything stored
    raw_body = utf8_text(data)
    settings = ingest_settings()
    secret = parameters.get_secret(settings.stripe_webhook_secret_id, max_age=SECRET_MAX_AGE_S)
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
        ClaimCheckingSender(
            EventQueue(settings.billing_events_queue_url),
            EventBodies(settings.event_bodies_bucket),
        ),
    )
    metrics.add_metric(
        "StripeEventsDuplicate" if duplicate else "StripeEventsAccepted", MetricUnit.Count, 1
    )
    logger.info("stripe event accepted", extra={"duplicate": duplicate, "body_bytes": len(data)})
    return {"received": True, "duplicate": duplicate}


# The body carries personal data: never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ingest_settings()  # a missing variable fails the cold start, naming it
    return app.resolve(event, context)
