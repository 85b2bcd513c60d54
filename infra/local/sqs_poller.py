"""SQS event source mappings, locally: poll a queue, invoke its consumer with a batch,
honour ``ReportBatchItemFailures``.

As Lambda does: records the function reports in ``batchItemFailures`` go back to the queue,
the rest are deleted; a function error or timeout fails the whole batch; an invalid
response (an unknown or empty ``itemIdentifier``) fails the whole batch too. A failed record
becomes visible again after ``retry_delay_s`` (Lambda waits the queue's visibility timeout;
locally a second keeps the loop short). After ``max_receives`` receives SQS moves the record
to the DLQ: moto does this itself on the next receive, for FIFO and standard queues alike.

FIFO: moto holds a message group back while any of its messages is in flight, so two batches
never carry the same group; the poller checks it too and never runs two batches of one group
at once, whatever the server does.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.workers import Invocation, Workers

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger("infra.local")

# Short polls (WaitTimeSeconds=0) and a pause when the queue is empty. Not long polling:
# moto 5.2.5 re-walks the queue in a busy loop for the whole wait, and does so without the
# FIFO ordering fix in ``moto_server``, which runs once per ReceiveMessage call.
POLL_INTERVAL_S = 0.2
_FIFO_ATTRIBUTES = ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber")


@dataclass(frozen=True)
class EventSource:
    """One queue -> function mapping."""

    queue_name: str
    queue_url: str
    queue_arn: str
    function_name: str
    fifo: bool
    batch_size: int
    max_receives: int
    max_batching_window_s: int = 0


def sqs_record(message: MessageTypeDef, source: EventSource, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda's event source mapping builds."""
    attributes = message.get("Attributes", {})
    record_attributes = {
        key: attributes[key]
        for key in (
            "ApproximateReceiveCount",
            "AWSTraceHeader",
            "SentTimestamp",
            *(_FIFO_ATTRIBUTES if source.fifo else ()),
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        )
        if key in attributes
    }
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": record_attributes,
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update(
        {"eventSource": "aws:sqs", "eventSourceARN": source.queue_arn, "awsRegion": region}
    )
    return record


def _message_attribute(value: Any) -> dict[str, Any]:
    """SQS API shape (``StringValue``, ``DataType`` ...) -> Lambda's (``stringValue`` ...)."""
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value["DataType"]
    return converted


def failed_ids(invocation: Invocation, message_ids: list[str]) -> set[str]:
    """The messages to retry: those reported failed, or all of them when the batch failed."""
    every = set(message_ids)
    if not invocation.ok:
        return every
    try:
        response = invocation.json()
    except ValueError:
        return every
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if failures is None:
        return set()  # nothing reported: the whole batch succeeded
    reported = _identifiers(failures)
    if reported is None or not reported <= every:
        return every  # Lambda treats an invalid report as a failure of the whole batch
    return reported


def _identifiers(failures: Any) -> set[str] | None:
    """The ``itemIdentifier`` of each reported failure; None if any is malformed."""
    if not isinstance(failures, list):
        return None
    found = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return None
        found.add(identifier)
    return found


class QueuePoller:
    """A thread that feeds one queue's batches to its function, up to ``concurrency`` at once."""

    def __init__(
        self,
        source: EventSource,
        *,
        sqs: SQSClient,
        workers: Workers,
        region: str,
        retry_delay_s: int,
        concurrency: int,
        delayed_by_function: Callable[[str], bool] = lambda _: False,
    ) -> None:
        self.source = source
        self._sqs = sqs
        self._workers = workers
        self._region = region
        self._retry_delay_s = retry_delay_s
        self._delayed_by_function = delayed_by_function
        self._slots = threading.BoundedSemaphore(concurrency)
        self._groups_in_flight: set[str] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._batches: set[threading.Thread] = set()
        self._thread = threading.Thread(
            target=self._run, name=f"poll:{source.queue_name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop receiving; batches already running finish (or fail as their workers stop)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for batch in list(self._batches):
            batch.join(timeout=max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=POLL_INTERVAL_S):
                continue
            try:
                messages = self._receive()
            except (BotoCoreError, ClientError) as exc:
                self._slots.release()
                if not self._stop.is_set():
                    log.warning("%s: receive failed: %s", self.source.queue_name, exc)
                    self._stop.wait(1)
                continue
            if not messages:
                self._slots.release()
                self._stop.wait(POLL_INTERVAL_S)
                continue
            groups = self._claim_groups(messages)
            if groups is None:  # stopping
                self._slots.release()
                return
            batch = threading.Thread(
                target=self._run_batch,
                args=(messages, groups),
                name=f"batch:{self.source.queue_name}",
                daemon=True,
            )
            self._batches.add(batch)
            batch.start()

    def _receive(self) -> list[MessageTypeDef]:
        source = self.source
        messages: list[MessageTypeDef] = []
        deadline = time.monotonic() + source.max_batching_window_s
        while True:
            got = self._sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(10, source.batch_size - len(messages)),
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += got
            # A batching window (standard queues only) waits to fill the batch.
            if (
                source.fifo
                or len(messages) >= source.batch_size
                or time.monotonic() >= deadline
                or self._stop.wait(POLL_INTERVAL_S)
            ):
                return messages

    def _claim_groups(self, messages: Iterable[MessageTypeDef]) -> set[str] | None:
        groups = {m.get("Attributes", {}).get("MessageGroupId", "") for m in messages} - {""}
        with self._cond:
            while groups & self._groups_in_flight:
                if self._stop.is_set():
                    return None
                self._cond.wait(POLL_INTERVAL_S)
            self._groups_in_flight |= groups
        return groups

    def _run_batch(self, messages: list[MessageTypeDef], groups: set[str]) -> None:
        try:
            self.process_batch(messages)
        except (BotoCoreError, ClientError) as exc:
            if not self._stop.is_set():
                log.warning("%s: settling a batch failed: %s", self.source.queue_name, exc)
        finally:
            with self._cond:
                self._groups_in_flight -= groups
                self._cond.notify_all()
            self._slots.release()
            self._batches.discard(threading.current_thread())

    def process_batch(self, messages: list[MessageTypeDef]) -> None:
        """Invoke the function with one received batch and settle it: delete what succeeded,
        make what failed visible again after the retry delay."""
        source = self.source
        event = {"Records": [sqs_record(m, source, self._region) for m in messages]}
        invocation = self._workers.invoke(source.function_name, json.dumps(event).encode())
        ids = [m["MessageId"] for m in messages]
        failed = failed_ids(invocation, ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        if not retry:
            return
        # A record whose function set its own delay (a backoff) keeps it, as on Lambda.
        shortened = [m for m in retry if not self._delayed_by_function(m["ReceiptHandle"])]
        if shortened:
            self._shorten(shortened)
        self._log_retry(invocation, retry, len(messages))

    def _shorten(self, retry: list[MessageTypeDef]) -> None:
        self._sqs.change_message_visibility_batch(
            QueueUrl=self.source.queue_url,
            Entries=[
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": self._retry_delay_s,
                }
                for i, m in enumerate(retry)
            ],
        )

    def _log_retry(self, invocation: Invocation, retry: list[MessageTypeDef], total: int) -> None:
        source = self.source
        reason = "the function failed" if not invocation.ok else "reported as failed"
        exhausted = [
            m["MessageId"]
            for m in retry
            if int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            >= source.max_receives
        ]
        log.warning(
            "%s: %d of %d records %s; retrying in %d s",
            source.function_name,
            len(retry),
            total,
            reason,
            self._retry_delay_s,
        )
        if exhausted:
            log.warning(
                "%s: %s received %d times: going to the DLQ",
                source.queue_name,
                ", ".join(exhausted),
                source.max_receives,
            )
