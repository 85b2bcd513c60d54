"""The moto server the local runner provisions and every function talks to.

moto runs in this process (``ThreadedMotoServer``: werkzeug on a thread), which lets the
runner correct two behaviours it relies on, checked on moto 5.2.5:

- moto's backends are not thread-safe, and the server handles requests on many threads.
  Under the runner's concurrency this showed as 500s (DynamoDB ``TransactWriteItems``
  deep-copies a table while another request changes it) and can lose an SQS message (a
  ``DeleteMessage`` rebuilds the queue's list while a ``SendMessage`` appends to the old
  one). The runner serves one moto request at a time (``_serialized``); an SQS long poll
  gives the turn away while it waits.
- FIFO ordering of retried messages (``_fifo_order_fix``).
- A DynamoDB transaction's rollback snapshot (``_transactions_snapshot_items_not_tables``).
- Which messages a function delayed itself (``ChangeMessageVisibility``, a retry's backoff):
  Lambda leaves those as they are, so the pollers do not shorten them to their retry delay
  (``delayed_by_function``).
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from moto.sqs.models import Queue, SQSBackend
from werkzeug.serving import make_server

log = logging.getLogger("infra.local")

_turn = threading.Lock()  # held by the one request moto is serving
LONG_POLL_PAUSE_S = 0.05
_holder = threading.local()

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # werkzeug logs every request moto serves: thousands of lines of polling noise.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _fifo_order_fix()
        _long_poll_gives_the_turn_away()
        _transactions_snapshot_items_not_tables()
        _remember_function_delays()
        self._server = _SerializedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.stop()


class _SerializedMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose app runs one request at a time."""

    def _server_entry(self) -> None:
        app = _serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def _serialized(app: WsgiApp) -> WsgiApp:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with _turn:
            _holder.active = True
            try:
                return [b"".join(app(environ, start_response))]
            finally:
                _holder.active = False

    return serve


def _long_poll_gives_the_turn_away() -> None:
    """A ReceiveMessage that waits for messages must not stop every other request."""
    original = Queue.wait_for_messages
    if getattr(original, "_cognitionos_fix", False):
        return

    @functools.wraps(original)
    def wait_for_messages(self: Queue, timeout: int) -> None:
        if not getattr(_holder, "active", False):
            original(self, timeout)
            return
        _holder.active = False
        _turn.release()
        try:
            started = time.monotonic()
            original(self, timeout)
            # moto returns at once while the queue holds visible messages it may not deliver
            # (a FIFO group in flight) and calls again: pause, so that the loop neither spins
            # nor starves the requests waiting for their turn.
            if time.monotonic() - started < LONG_POLL_PAUSE_S:
                time.sleep(LONG_POLL_PAUSE_S)
        finally:
            _turn.acquire()
            _holder.active = True

    wait_for_messages._cognitionos_fix = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def _fifo_order_fix() -> None:
    """Deliver a FIFO group's retried messages in order, as SQS does.

    moto keeps a received message in the queue's "in flight" set until a receive walks past
    it again, and skips a group while any of its messages is in that set. When a batch's
    failed messages m1 and m2 of one group become visible together, the walk clears m1,
    still sees m2 in flight, skips m1, clears m2 and delivers m2 first: the group runs out
    of order. Clearing every message whose visibility timeout has expired before the walk
    gives SQS's behaviour: the group is held back only by messages still invisible. The fix
    runs once per call, so the pollers use short polls (``WaitTimeSeconds=0``): a long poll
    re-walks the queue without it.
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


def _transactions_snapshot_items_not_tables() -> None:
    """Snapshot only the items a ``TransactWriteItems`` touches, not whole tables.

    To roll back a failed transaction moto deep-copies the whole table once per item of the
    transaction: with a few thousand items in the billing table a transaction took half a
    second, which made the runner slower with every event. The items a transaction writes
    are the only ones it can change, so saving those and putting them back on failure is
    the same rollback. moto's own table copy is turned into a no-op for this function only.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_cognitionos_fix", False):
        return

    class _TablesAsIs:
        """``copy`` as moto's DynamoDB module sees it: a Table is not copied."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    setattr(models, "copy", _TablesAsIs)  # noqa: B010 (a module global, not an attribute mypy knows)

    def item_keys(table: Table, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
        key = op.get("Key") or op["Item"]
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        return (
            DynamoType(key[table.hash_key_attr]),
            DynamoType(range_value) if range_value is not None else None,
        )

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            if table is None or not ({"Key", "Item"} & set(op)):
                continue  # moto itself raises for it, before writing anything
            hash_key, range_key = item_keys(table, op)
            if table.range_key_attr and range_key is None:
                continue  # moto refuses it (no range key), before writing anything
            before = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(before)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in saved:
                table.delete_item(hash_key, range_key)
                if before is not None and range_key is not None:
                    table.items[hash_key][range_key] = before
                elif before is not None:
                    table.items[hash_key] = before  # type: ignore[assignment]
            raise

    transact_write_items._cognitionos_fix = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_delayed: set[str] = set()  # receipt handles a function set the visibility of itself
_batch = threading.local()


def delayed_by_function(receipt_handle: str) -> bool:
    """True (once) if a function changed this received message's visibility itself."""
    with _turn:
        if receipt_handle in _delayed:
            _delayed.discard(receipt_handle)
            return True
        return False


def _remember_function_delays() -> None:
    """Record single ``ChangeMessageVisibility`` calls (functions); the pollers settle failed
    records with the batch call, which goes through the same method and is not recorded."""
    original = SQSBackend.change_message_visibility
    if getattr(original, "_cognitionos_fix", False):
        return
    original_batch = SQSBackend.change_message_visibility_batch

    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        original(self, queue_name, receipt_handle, visibility_timeout)
        if not getattr(_batch, "active", False):
            _delayed.add(receipt_handle)

    def change_message_visibility_batch(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        _batch.active = True
        try:
            return original_batch(self, *args, **kwargs)
        finally:
            _batch.active = False

    change_message_visibility._cognitionos_fix = True  # type: ignore[attr-defined]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
    SQSBackend.change_message_visibility_batch = change_message_visibility_batch  # type: ignore[method-assign]
