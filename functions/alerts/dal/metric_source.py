"""What a rule's metric is now: the metrics table, or SQS for ``queue.<name>.dlq_depth``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from cognitionos.aws import client
from cognitionos.metrics_store import MetricsStore, Series

DLQ_DEPTH = re.compile(r"^queue\.(?P<queue>[a-z0-9-]+)\.dlq_depth$")


class MetricSource:
    """``series(metric, window_minutes)`` for the evaluator; a DLQ's depth is read once per
    run however many rules watch it."""

    def __init__(
        self, store: MetricsStore, dead_letter_queues: Mapping[str, str], now: float
    ) -> None:
        self._store = store
        self._dlqs = dict(dead_letter_queues)
        self._now = now
        self._depths: dict[str, float] = {}

    @property
    def queues(self) -> list[str]:
        return sorted(self._dlqs)

    def series(self, metric: str, window_minutes: int) -> list[Series]:
        match = DLQ_DEPTH.fullmatch(metric)
        if match is None:
            return self._store.window(metric, window_minutes, self._now)
        queue = match["queue"]
        if queue not in self._dlqs:
            raise ValueError(f"no dead-letter queue {queue!r} is watched; known: {self.queues}")
        if queue not in self._depths:
            attributes = client("sqs").get_queue_attributes(
                QueueUrl=self._dlqs[queue], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            self._depths[queue] = float(attributes["ApproximateNumberOfMessages"])
        return [Series({}, self._depths[queue])]
