"""Stripe's API, through the official SDK; ``STRIPE_API_BASE`` points it at any server.

Objects come back as plain JSON dicts (``to_dict(for_json=True)``: decimal strings such as a
price's ``unit_amount_decimal`` stay strings), the same shape a webhook event carries.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, get_args

import stripe
from aws_lambda_powertools.utilities import parameters

from billing.logic.state import RefetchableKind

# Keys that can read events; anything else in the secret means "not configured".
KEY_PREFIXES = ("sk_", "rk_")
# A rotated key is picked up within a minute without a secret read on every invocation.
SECRET_MAX_AGE_S = 60


def is_api_key(value: str) -> bool:
    return value.startswith(KEY_PREFIXES)


class StripeApi:
    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        addresses: Any = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)

    @property
    def client(self) -> stripe.StripeClient:
        """The SDK client, for the data access modules that call other Stripe resources."""
        return self._client

    def undelivered_events(self, since: int) -> Iterator[dict[str, Any]]:
        """Events whose webhook delivery failed, created at or after ``since`` (Unix s)."""
        page = self._client.v1.events.list(
            params={"delivery_success": False, "created": {"gte": since}, "limit": 100}
        )
        for event in page.auto_paging_iter():
            yield event.to_dict(for_json=True)

    def retrieve(self, kind: RefetchableKind, object_id: str) -> dict[str, Any]:
        """The current version of one object (``GET /v1/{kind}s/{id}``).

        A deleted customer comes back as ``{"id", "object", "deleted": true}``; an unknown id
        raises ``stripe.InvalidRequestError`` (HTTP 404).
        """
        v1 = self._client.v1
        found: stripe.StripeObject
        if kind == "customer":
            found = v1.customers.retrieve(object_id)
        elif kind == "subscription":
            found = v1.subscriptions.retrieve(object_id)
        elif kind == "invoice":
            found = v1.invoices.retrieve(object_id)
        else:
            expected = get_args(RefetchableKind)
            raise ValueError(f"cannot retrieve a Stripe {kind!r}: expected one of {expected}")
        return found.to_dict(for_json=True)

    def subscriptions(self) -> Iterator[dict[str, Any]]:
        """Every subscription of the account, canceled ones included, page after page."""
        page = self._client.v1.subscriptions.list(params={"status": "all", "limit": 100})
        for subscription in page.auto_paging_iter():
            yield subscription.to_dict(for_json=True)


@functools.lru_cache(maxsize=2)
def stripe_api(api_key: str, api_base: str | None = None) -> StripeApi:
    """One client per key and execution environment; a rotated key gets a new one."""
    return StripeApi(api_key, api_base)


def stripe_api_from_secret(secret_id: str, api_base: str | None = None) -> StripeApi | None:
    """The client for the key stored in ``secret_id``, or None while no key is configured."""
    api_key = str(parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_S))
    return stripe_api(api_key, api_base) if is_api_key(api_key) else None


class ConfiguredStripeReader:
    """Reads objects through the key in the ``stripe-api-key`` secret, looked up only when a
    read is needed (a tie to break); None while no key is configured."""

    def __init__(self, secret_id: str, api_base: str | None = None) -> None:
        self._secret_id = secret_id
        self._api_base = api_base

    def retrieve(self, kind: RefetchableKind, object_id: str) -> dict[str, Any] | None:
        api = stripe_api_from_secret(self._secret_id, self._api_base)
        return api.retrieve(kind, object_id) if api is not None else None
