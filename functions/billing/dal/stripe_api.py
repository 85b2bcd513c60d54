"""Stripe's API, through the official SDK; ``STRIPE_API_BASE`` points it at any server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import stripe

# Keys that can read events; anything else in the secret means "not configured".
KEY_PREFIXES = ("sk_", "rk_")


def is_api_key(value: str) -> bool:
    return value.startswith(KEY_PREFIXES)


class StripeApi:
    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        addresses: Any = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)

    def undelivered_events(self, since: int) -> Iterator[dict[str, Any]]:
        """Events whose webhook delivery failed, created at or after ``since`` (Unix s)."""
        page = self._client.v1.events.list(
            params={"delivery_success": False, "created": {"gte": since}, "limit": 100}
        )
        for event in page.auto_paging_iter():
            yield event.to_dict()
