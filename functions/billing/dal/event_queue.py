"""The billing events FIFO queue: one message per Stripe event, grouped by customer."""

from __future__ import annotations

from billing.logic.webhook import message_group
from billing.models.events import StripeEventEnvelope
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
