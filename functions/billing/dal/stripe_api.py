"""Stripe's API, through the official SDK; ``STRIPE_API_BASE`` points it at any server.

Objects come back as plain JSON dicts (``to_dict(for_json=True)``: decimal strings such as a
price's ``unit_amount_decimal`` stay strings), the same shape a webhook event carries when
the client is pinned to the events' API version (``api_version``): stored state comes from
webhook payloads, so a read in another version's shape would look like a change.

The SDK is imported when a client is first made, not at module import: most invocations of
the functions that may call Stripe never do, and the import costs ~60 ms of cold start.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, get_args

from aws_lambda_powertools.utilities import parameters

from billing.logic.state import RefetchableKind
from cognitionos import deadline

if TYPE_CHECKING:
    import stripe

# Keys that can read events; anything else in the secret means "not configured".
KEY_PREFIXES = ("sk_", "rk_")
# A rotated key is picked up within a minute without a secret read on every invocation.
SECRET_MAX_AGE_S = 60
# The SDK's defaults (80 s per request, retries on top) outlive a 30 s function: one slow
# call would time out a whole SQS batch. A call here takes at most
# (1 + MAX_NETWORK_RETRIES) x (CONNECT + READ) plus the SDK's sub-second backoff.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_NETWORK_RETRIES = 1
WORST_CALL_S = (1 + MAX_NETWORK_RETRIES) * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 1.0


def is_api_key(value: str) -> bool:
    return value.startswith(KEY_PREFIXES)


class StripeApi:
    def __init__(
        self, api_key: str, api_base: str | None = None, api_version: str | None = None
    ) -> None:
        import stripe  # noqa: PLC0415 (see the module docstring)

        addresses: Any = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,
            stripe_version=api_version,  # None: the SDK's own version (stripe.api_version)
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.new_default_http_client(timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)),
        )

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

    def retrieve(self, kind: RefetchableKind, object_id: str) -> dict[str, Any] | None:
        """The current version of one object (``GET /v1/{kind}s/{id}``); None when Stripe
        has no such object (404). A deleted customer comes back as
        ``{"id", "object", "deleted": true}``."""
        import stripe  # noqa: PLC0415 (already loaded by __init__: a dictionary lookup)

        deadline.require(WORST_CALL_S, f"a Stripe {kind} read")
        v1 = self._client.v1
        services: dict[str, Any] = {
            "customer": v1.customers,
            "subscription": v1.subscriptions,
            "invoice": v1.invoices,
            "coupon": v1.coupons,
        }
        if kind not in services:
            expected = get_args(RefetchableKind)
            raise ValueError(f"cannot retrieve a Stripe {kind!r}: expected one of {expected}")
        try:
            found: stripe.StripeObject = services[kind].retrieve(object_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise
        return found.to_dict(for_json=True)

    def subscriptions(self) -> Iterator[dict[str, Any]]:
        """Every subscription of the account, canceled ones included, page after page."""
        page = self._client.v1.subscriptions.list(params={"status": "all", "limit": 100})
        for subscription in page.auto_paging_iter():
            yield subscription.to_dict(for_json=True)


@functools.lru_cache(maxsize=4)
def stripe_api(
    api_key: str, api_base: str | None = None, api_version: str | None = None
) -> StripeApi:
    """One client per key, version and execution environment; a rotated key gets a new one."""
    return StripeApi(api_key, api_base, api_version)


def stripe_api_from_secret(
    secret_id: str, api_base: str | None = None, api_version: str | None = None
) -> StripeApi | None:
    """The client for the key stored in ``secret_id``, or None while no key is configured."""
    api_key = str(parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_S))
    return stripe_api(api_key, api_base, api_version) if is_api_key(api_key) else None


class ConfiguredStripeReader:
    """Reads objects through the key in the ``stripe-api-key`` secret, looked up only when a
    read is needed (a tie to break, a coupon to learn); None while no key is configured."""

    def __init__(self, secret_id: str, api_base: str | None = None) -> None:
        self._secret_id = secret_id
        self._api_base = api_base

    def retrieve(
        self, kind: RefetchableKind, object_id: str, api_version: str | None
    ) -> dict[str, Any] | None:
        api = stripe_api_from_secret(self._secret_id, self._api_base, api_version)
        return api.retrieve(kind, object_id) if api is not None else None
