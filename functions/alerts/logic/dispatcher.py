"""Delivering one queued notification, or one digest, exactly once per log entry.

The order of each step is what makes redelivery and crashes safe:

1. claim the log entry (conditional write): a settled or held entry stops here;
2. on the first attempt, take a token from the channel's bucket; with none left, hold the
   notification back in the channel's pending digest (queuing the digest if it is the first
   one waiting), then settle the entry ``digested``;
3. send, then settle the entry ``sent``, ``failed`` (a 4xx: not retried) or ``retrying``.
   A retry raises ``RetryLater`` with its delay (the handler sets the message's visibility:
   no sleep); the last attempt settles ``failed`` and raises ``Exhausted``: the message goes
   to the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from alerts.logic.payloads import DigestLine
from alerts.logic.retries import Outcome, backoff_s, classify

Result = Literal["sent", "failed", "digested", "duplicate", "dropped", "empty"]


class RetryLater(Exception):
    def __init__(self, delay_s: int, reason: str) -> None:
        super().__init__(f"retrying in {delay_s} s: {reason}")
        self.delay_s = delay_s


class Exhausted(RuntimeError):
    """The last attempt failed: the message goes to the dead-letter queue."""


class Log(Protocol):
    def claim(self, key: Mapping[str, str], fields: Mapping[str, str], now: int) -> int | None: ...

    def settle(self, key: Mapping[str, str], status: Any, error: str | None, now: int) -> None: ...


class Limiter(Protocol):
    def try_take(self, channel_id: str, capacity: int, now: float) -> bool: ...


class Digests(Protocol):
    def add(self, channel_id: str, line: DigestLine) -> bool: ...

    def mark_scheduled(self, channel_id: str) -> None: ...

    def pending(self, channel_id: str) -> list[DigestLine]: ...

    def remove(self, channel_id: str, lines: list[DigestLine]) -> bool: ...


class Answer(Protocol):
    @property
    def status(self) -> int | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def retry_after(self) -> str | None: ...


class ChannelLike(Protocol):
    @property
    def channel_id(self) -> str: ...

    @property
    def rate_limit_per_minute(self) -> int: ...


class Senders(Protocol):
    def notify(self, channel: Any, event: str, alert: Mapping[str, Any]) -> Answer: ...

    def digest(self, channel: Any, lines: Sequence[DigestLine]) -> Answer: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # the queue's max receives
    base_s: float = 2.0
    cap_s: float = 300.0


@dataclass
class Dispatcher:
    log: Log
    limiter: Limiter
    digests: Digests
    senders: Senders
    schedule_digest: Callable[[str, int], None]  # channel id, delay (s)
    policy: RetryPolicy
    digest_delay_s: int
    clock: Callable[[], float]
    rng: random.Random | None = None

    def deliver(
        self,
        alert: Mapping[str, Any],
        channel: ChannelLike,
        event: str,
        delivery_key: Mapping[str, str],
    ) -> Result:
        now = self.clock()
        fields = {"channel_id": channel.channel_id, "event": event}
        attempt = self.log.claim(delivery_key, fields, int(now))
        if attempt is None:
            return "duplicate"
        capacity = channel.rate_limit_per_minute
        if attempt == 1 and not self.limiter.try_take(channel.channel_id, capacity, now):
            line = DigestLine(alert["alert_id"], event, alert["severity"], alert["summary"])
            self._hold_back(channel.channel_id, line)
            self.log.settle(delivery_key, "digested", None, int(now))
            return "digested"
        answer = self.senders.notify(channel, event, alert)
        return self._settle(delivery_key, attempt, answer)

    def deliver_digest(
        self, channel: ChannelLike, digest_key: Callable[[str], dict[str, str]]
    ) -> Result:
        lines = self.digests.pending(channel.channel_id)
        if not lines:
            return "empty"
        digest_id = hashlib.sha256("\n".join(x.encode() for x in lines).encode()).hexdigest()
        key = digest_key(digest_id[:32])
        now = self.clock()
        attempt = self.log.claim(
            key, {"channel_id": channel.channel_id, "event": "digest"}, int(now)
        )
        if attempt is None:
            return "duplicate"
        answer = self.senders.digest(channel, lines)
        outcome = classify(answer.status, answer.error, answer.retry_after, now)
        done = outcome.verdict != "retry" or attempt >= self.policy.max_attempts
        # Sent, or refused for good: either way these lines are done with.
        if done and self.digests.remove(channel.channel_id, lines):
            self.schedule_digest(channel.channel_id, self.digest_delay_s)
        return self._settle(key, attempt, answer, outcome)

    def _hold_back(self, channel_id: str, line: DigestLine) -> None:
        if self.digests.add(channel_id, line):
            self.schedule_digest(channel_id, self.digest_delay_s)
            self.digests.mark_scheduled(channel_id)

    def _settle(
        self,
        key: Mapping[str, str],
        attempt: int,
        answer: Answer,
        outcome: Outcome | None = None,
    ) -> Result:
        now = self.clock()
        outcome = outcome or classify(answer.status, answer.error, answer.retry_after, now)
        if outcome.verdict == "sent":
            self.log.settle(key, "sent", None, int(now))
            return "sent"
        if outcome.verdict == "failed":
            self.log.settle(key, "failed", outcome.error, int(now))
            return "failed"
        if attempt >= self.policy.max_attempts:
            error = f"gave up after {attempt} attempts: {outcome.error}"
            self.log.settle(key, "failed", error, int(now))
            raise Exhausted(error)
        self.log.settle(key, "retrying", outcome.error, int(now))
        delay = backoff_s(
            attempt, self.policy.base_s, self.policy.cap_s, outcome.retry_after_s, self.rng
        )
        raise RetryLater(delay, outcome.error or "")
