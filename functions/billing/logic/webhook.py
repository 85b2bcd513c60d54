"""Stripe webhook verification: the Stripe SDK checks the signature over the raw body."""

from __future__ import annotations

import stripe

from billing.logic.envelope import envelope_from
from billing.models.events import StripeEventEnvelope
from cognitionos.errors import BadRequest

SIGNATURE_TOLERANCE_S = 300
# Why a delivery was refused, as its webhook.rejected audit entry names it.
MISSING_SIGNATURE = "missing_signature"
MALFORMED_SIGNATURE = "malformed_signature"
SIGNATURE_MISMATCH = "signature_mismatch"
STALE_TIMESTAMP = "stale_timestamp"
NOT_AN_EVENT = "not_an_event"  # not UTF-8, not JSON, not an object, fields missing


class WebhookRejected(BadRequest):
    """A refused delivery (400), with the reason its audit entry records."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify_stripe_event(payload: str, signature: str | None, secret: str) -> StripeEventEnvelope:
    """Check the ``Stripe-Signature`` over the exact raw body and return the event's envelope."""
    if not signature:
        raise WebhookRejected("missing Stripe-Signature header", MISSING_SIGNATURE)
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_S
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(*_signature_problem(str(exc))) from None
    except ValueError:
        raise WebhookRejected("the body is not valid JSON", NOT_AN_EVENT) from None
    except AttributeError:  # the SDK assumes a JSON object; an array or scalar lands here
        message = "the body is not a Stripe event: expected a JSON object"
        raise WebhookRejected(message, NOT_AN_EVENT) from None
    return envelope_from(event.to_dict())


def _signature_problem(stripe_message: str) -> tuple[str, str]:
    if "tolerance" in stripe_message:
        message = f"the Stripe-Signature timestamp is more than {SIGNATURE_TOLERANCE_S} s old"
        return message, STALE_TIMESTAMP
    if "No signatures found" in stripe_message:
        message = "the Stripe-Signature does not match the body and the webhook secret"
        return message, SIGNATURE_MISMATCH
    return f"the Stripe-Signature header is malformed: {stripe_message}", MALFORMED_SIGNATURE
