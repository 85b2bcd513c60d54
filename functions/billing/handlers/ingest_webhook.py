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
from billing.dal.rejections import rejection_audit
from billing.logic.claim_checks import MAX_BODY_BYTES, ClaimCheckingSender, require_acceptable_size
from billing.logic.intake import accept_event
from billing.logic.webhook import SIGNATURE_TOLERANCE_S, verify_stripe_event
from billing.models.events import STRIPE_EVENT_SCHEMA, WebhookReceipt
from billing.settings import ingest_settings
from cognitionos.aws import dynamodb_table
from cognitionos.http import (
    JSON_MEDIA_TYPE,
    body_bytes,
    create_resolver,
    documented_responses,
    utf8_text,
)
from cognitionos.observability import MetricUnit, logger, metrics, traced

SECRET_MAX_AGE_S = 300  # a rolled webhook secret is picked up within five minutes

# No request model to validate: the body must reach the signature check byte for byte. The
# body and the signature header are documented here instead, and never parsed before it.
app = create_resolver(enable_validation=False)
WEBHOOK_DOCUMENT = {
    "parameters": [
        {
            "name": "Stripe-Signature",
            "in": "header",
            "required": True,
            "description": (
                'Stripe\'s signature: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" '
                "under the endpoint's webhook secret>`; at most "
                f"{SIGNATURE_TOLERANCE_S} s old"
            ),
            "schema": {"type": "string"},
            "examples": {
                "a signature": {
                    "value": "t=1740787205,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff"
                    "536d0ce8e108d8bd"
                }
            },
        }
    ],
    "requestBody": {
        "required": True,
        "description": (
            "The event exactly as Stripe sent it: its bytes are checked against the "
            f"signature before anything else reads them. At most {MAX_BODY_BYTES} bytes."
        ),
        "content": {JSON_MEDIA_TYPE: {"schema": STRIPE_EVENT_SCHEMA}},
    },
}


@app.post(
    "/webhooks/stripe",
    tags=["billing"],
    summary="Receive a Stripe event (Stripe calls this)",
    description=(
        "Stripe's webhook endpoint. The signature is verified over the raw body, then the "
        "event is logged once and queued for billing, and only then answered 200; a "
        "redelivered event is answered 200 with `duplicate` true and applied once. No API "
        "key: the signature is the authentication. A refused delivery stores nothing but a "
        "count: the operators' audit log gets at most one `webhook.rejected` entry per "
        "reason a minute, carrying how many were refused."
    ),
    openapi_extensions=WEBHOOK_DOCUMENT,
    responses=documented_responses(
        "Logged and queued",
        {
            400: "A missing, malformed or stale `Stripe-Signature`, one that does not match the "
            "body, or a body that is not a Stripe event (not UTF-8, not JSON, fields missing)",
            413: f"The body is over {MAX_BODY_BYTES} bytes (4 MiB); nothing is logged or stored",
        },
        success_model=WebhookReceipt,
        examples={400: "the Stripe-Signature does not match the body and the webhook secret"},
    ),
)
def receive_stripe_event() -> dict[str, Any]:
    data = body_bytes(app.current_event)
    require_acceptable_size(len(data))  # a 413 before the secret is read or anything stored
    settings = ingest_settings()
    with rejection_audit().audited():  # webhook.rejected, bounded (dal/rejections.py)
        raw_body = utf8_text(data)
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
    return WebhookReceipt(received=True, duplicate=duplicate).model_dump()


# The body carries personal data: never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ingest_settings()  # a missing variable fails the cold start, naming it
    return app.resolve(event, context)
