"""Stripe webhook verification: the Stripe SDK checks the signature over the raw body."""

from __future__ import annotations

import stripe

from billing.logic.envelope import envelope_from
from billing.models.events import StripeEventEnvelope
from cognitionos.errors import BadRequest

SIGNATURE_TOLERANCE_S = 300


def verify_stripe_event(payload: str, signature: str | None, secret: str) -> StripeEventEnvelope:
    """Check the ``Stripe-Signature`` over the exact raw body and return the event's envelope."""
    if not signature:
        raise BadRequest("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_S
        )
    except stripe.SignatureVerificationError as exc:
        raise BadRequest(_signature_problem(str(exc))) from None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    except AttributeError:  # the SDK assumes a JSON object; an array or scalar lands here
        raise BadRequest("the body is not a Stripe event: expected a JSON object") from None
    return envelope_from(event.to_dict())


def _signature_problem(stripe_message: str) -> str:
    if "tolerance" in stripe_message:
        return f"the Stripe-Signature timestamp is more than {SIGNATURE_TOLERANCE_S} s old"
    if "No signatures found" in stripe_message:
        return "the Stripe-Signature does not match the body and the webhook secret"
    return f"the Stripe-Signature header is malformed: {stripe_message}"
