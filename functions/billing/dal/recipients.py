"""Where a customer's email address comes from: Stripe, the system of record for it until
billing keeps customers' personal data encrypted (then swap in that directory)."""

from __future__ import annotations

import stripe

from billing.dal.stripe_api import is_api_key
from cognitionos.observability import logger


class StripeRecipients:
    """``RecipientDirectory`` backed by ``GET /v1/customers/{id}`` (Stripe's official SDK)."""

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        addresses: dict[str, str] | None = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=2,
        )

    def email_of(self, customer_id: str) -> str | None:
        try:
            customer = self._client.v1.customers.retrieve(customer_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None  # no such customer in Stripe: nobody to write to
            raise
        if getattr(customer, "deleted", False):
            return None
        email = customer.email
        return email if isinstance(email, str) and email else None


class NoRecipients:
    """Used while no Stripe API key is configured: every customer has no known address."""

    def email_of(self, customer_id: str) -> str | None:
        logger.warning("no recipient directory: set the stripe-api-key secret to email customers")
        return None


def stripe_recipients(api_key: str, api_base: str | None) -> StripeRecipients | NoRecipients:
    return StripeRecipients(api_key, api_base) if is_api_key(api_key) else NoRecipients()
