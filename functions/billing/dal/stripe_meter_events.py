"""Stripe Billing Meter events (``POST /v1/billing/meter_events``) through the official SDK."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import stripe

from billing.dal.stripe_api import is_api_key
from cognitionos.usage import UsageRecord

# Stripe's answer to a meter event whose identifier it already holds (400, not retryable):
# "An event already exists with identifier <id>." The identifier is the record's own id, so
# this means the usage was delivered before.
ALREADY_EXISTS = "already exists with identifier"


class StripeNotConfigured(RuntimeError):
    """The stripe-api-key secret holds no API key, so usage cannot be reported."""


@functools.cache
def _client(api_key: str, api_base: str | None) -> stripe.StripeClient:
    addresses: Any = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)


class StripeMeterEvents:
    """``api_key`` is called on the first send, so a reported record never needs the key."""

    def __init__(self, api_key: Callable[[], str], api_base: str | None = None) -> None:
        self._api_key = api_key
        self._api_base = api_base

    def send(self, record: UsageRecord, idempotency_key: str) -> bool:
        """Post the record's meter event; False if Stripe already held its identifier."""
        api_key = self._api_key()
        if not is_api_key(api_key):
            raise StripeNotConfigured(
                "no Stripe API key in the stripe-api-key secret: set it (sk_... or rk_...) "
                "to report usage"
            )
        try:
            _client(api_key, self._api_base).v1.billing.meter_events.create(
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
