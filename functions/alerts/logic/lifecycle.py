"""Acknowledging and resolving an alert by hand (``POST /v1/alerts/{id}/ack`` · ``/resolve``).

Asking again for the state an alert is already in changes nothing and notifies nobody. The
notifications are queued before the change is stored, so a failure in between repeats both
on a retry rather than losing the notifications (the notification log drops the repeats).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from alerts.logic.routing import Route, Silence, routed, silenced
from cognitionos.errors import Conflict
from cognitionos.timeutil import iso


class Store(Protocol):
    def get_alert(self, alert_id: str) -> dict[str, Any]: ...

    def routes(self) -> list[Route]: ...

    def silences(self) -> list[Silence]: ...

    def transition(
        self, alert_id: str, fingerprint: str, to: str, now: str, *, actor: str
    ) -> bool: ...


class Queue(Protocol):
    def send(self, alert_id: str, channel_ids: Iterable[str], event: str) -> int: ...


def change_status(
    store: Store, queue: Queue, alert_id: str, to: str, *, now_s: int, actor: str
) -> dict[str, Any]:
    """The alert after ``actor`` moved it to ``to`` (``acknowledged`` or ``resolved``); only
    the request whose move wins is audited."""
    alert = store.get_alert(alert_id)  # NotFound for an unknown id
    if alert["status"] == to:
        return alert
    if alert["status"] == "resolved":
        raise Conflict(f"alert {alert_id} is resolved; it can no longer be {to}")
    if not silenced(alert["labels"], store.silences(), now_s):
        channels = routed(alert["severity"], alert["labels"], store.routes())
        if channels:
            queue.send(alert_id, channels, to)
    if not store.transition(alert_id, alert["fingerprint"], to, iso(now_s), actor=actor):
        # Moved meanwhile: decided again.
        return change_status(store, queue, alert_id, to, now_s=now_s, actor=actor)
    return store.get_alert(alert_id)
