"""The moto server the local runner provisions and every function talks to.

moto runs in this process (a werkzeug server on a thread), so the runner can correct the one
SQS behaviour that differs from AWS in a way the runner relies on; see ``_fifo_order_fix``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from moto.server import ThreadedMotoServer
from moto.sqs.models import SQSBackend

log = logging.getLogger("infra.local")


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # werkzeug logs every request moto serves: thousands of lines of polling noise.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _fifo_order_fix()
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.stop()


def _fifo_order_fix() -> None:
    """Deliver a FIFO group's retried messages in order, as SQS does.

    moto (checked on 5.2.5) keeps a received message in the queue's "in flight" set until a
    receive walks past it again, and skips a group while any of its messages is in that set.
    When a batch's failed messages m1 and m2 of one group become visible together, the walk
    clears m1, still sees m2 in flight, skips m1, clears m2 and delivers m2 first: the group
    runs out of order. Clearing every message whose visibility timeout has expired before
    the walk gives SQS's behaviour: the group is held back only by messages still invisible.
    The fix runs once per call, so the pollers use short polls (``WaitTimeSeconds=0``): a
    long poll re-walks the queue without it.
    """
    original = SQSBackend.receive_message
    if getattr(original, "_cognitionos_fix", False):
        return

    @functools.wraps(original)
    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        pending = getattr(queue, "pending_messages", None)
        if isinstance(pending, set):
            for message in list(pending):
                if message.visible:
                    pending.discard(message)
        return original(self, queue_name, *args, **kwargs)

    receive_message._cognitionos_fix = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
