"""The billing events FIFO queue: one message per Stripe event, grouped by customer."""

from __future__ import annotations

import hashlib

from billing.logic.envelope import message_group
from billing.models.events import RederiveRequest, StripeEventEnvelope
from cognitionos.queues import send_message


class EventQueue:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    def send(self, event: StripeEventEnvelope, raw_event: str) -> None:
        """Queue the raw event text; its id deduplicates resends within SQS's window."""
        send_message(
            self._queue_url,
            raw_event,
            group_id=message_group(event),
            deduplication_id=event.id,
        )

    def request_rederive(self, customer_id: str, coupon_id: str) -> None:
        """Ask for the customer's records to be derived again, in its own group; one request
        per customer and coupon within SQS's 5-minute deduplication window."""
        request = RederiveRequest(customer_id=customer_id, coupon_id=coupon_id)
        digest = hashlib.sha256(f"{customer_id}#{coupon_id}".encode()).hexdigest()
        send_message(
            self._queue_url,
            request.model_dump_json(),
            group_id=customer_id,
            deduplication_id=f"rederive-{digest[:40]}",
        )
