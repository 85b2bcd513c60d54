"""Stripe Billing Meter events (``POST /v1/billing/meter_events``) through the official SDK."""

from __future__ import annotations

import stripe

from billing.dal.stripe_api import stripe_api_from_secret
from cognitionos.usage import UsageRecord

# Stripe's answer to a meter event whose identifier it already holds (400, not retryable):
# "An event already exists with identifier <id>." The identifier is the record's own id, so
# this means the usage was delivered before.
ALREADY_EXISTS = "already exists with identifier"


class StripeNotConfigured(RuntimeError):
    """The stripe-api-key secret holds no API key, so usage cannot be reported."""


class StripeMeterEvents:
    """The key is read on the first send, so a record already reported never needs it."""

    def __init__(self, secret_id: str, api_base: str | None = None) -> None:
        self._secret_id = secret_id
        self._api_base = api_base

    def send(self, record: UsageRecord, idempotency_key: str) -> bool:
        """Post the record's meter event; False if Stripe already held its identifier."""
        api = stripe_api_from_secret(self._secret_id, self._api_base)
        if api is None:
            raise StripeNotConfigured(
                "no Stripe API key in the stripe-api-key secret: set it (sk_... or rk_...) "
                "to report usage"
            )
        try:
            api.client.v1.billing.meter_events.create(
                params={
                    "event_name": record.meter,
                    "identifier": record.usage_id,
                    "timestamp": record.timestamp,
                    "payload": {"stripe_customer_id": record.tenant, "value": str(record.value)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as exc:
            if ALREADY_EXISTS in (exc.user_message or str(exc)):
                return False
            raise
        return True
