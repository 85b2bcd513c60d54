"""Business metrics that alert rules read: counters and gauges in per-minute buckets.

One emission is one DynamoDB ``UpdateItem`` on the bucket of (metric, labels, minute): ``ADD``
for a counter, ``SET`` for a gauge; never a read. Buckets expire (TTL) after a day, longer
than any rule's window. A reader gets a metric's window with one ``Query`` (every label set
at once) and aggregates it: a counter sums its buckets, a gauge takes its newest value.

A function that emits declares, in ``infra/topology.py``, ``tables=(..., METRIC_RECORDING)``::

    from cognitionos.metrics_store import increment, set_gauge

    increment("billing.payments_failed")
    increment("agents.cost_usd", 0.42, labels={"model": "gpt-4o"})
    set_gauge("billing.mrr", 125000)

Emit inside a path that runs once per business fact (after an idempotent write succeeded),
so a redelivered message does not count twice.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import Key

from cognitionos.aws import dynamodb_table
from cognitionos.dynamodb import all_items
from cognitionos.settings import FunctionSettings, load_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MetricKind = Literal["counter", "gauge"]
BUCKET_S = 60
RETENTION_S = 24 * 3600  # longer than the longest window a rule may watch (MAX_WINDOW_MINUTES)
MAX_WINDOW_MINUTES = 1440
NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")  # billing.payments_failed
LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_LABEL_VALUE = 100


class MetricsSettings(FunctionSettings):
    metrics_table: str


@functools.cache
def metrics_settings() -> MetricsSettings:
    return load_settings(MetricsSettings)


def _table() -> Table:
    return dynamodb_table(metrics_settings().metrics_table)  # the resource is cached there


def increment(name: str, value: float = 1, *, labels: Mapping[str, str] | None = None) -> None:
    """Add ``value`` to counter ``name`` (with ``labels``) in the current minute."""
    _emit("counter", name, value, labels, time.time())


def set_gauge(name: str, value: float, *, labels: Mapping[str, str] | None = None) -> None:
    """Record gauge ``name`` (with ``labels``) as ``value`` now; the newest value wins."""
    _emit("gauge", name, value, labels, time.time())


def _emit(
    kind: MetricKind,
    name: str,
    value: float,
    labels: Mapping[str, str] | None,
    now: float,
) -> None:
    MetricsStore(_table()).record(kind, name, value, labels or {}, now)


def label_key(labels: Mapping[str, str]) -> str:
    """Labels as one canonical text: sorted ``k=v`` joined by ``,`` (values cannot hold either)."""
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def parse_label_key(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",")) if text else {}


def validate(name: str, value: float, labels: Mapping[str, str]) -> None:
    """ValueError naming the problem: a metric name, label or value that cannot be stored."""
    if not NAME.fullmatch(name):
        raise ValueError(f"metric name must look like 'billing.payments_failed', got {name!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"metric {name}: value must be a finite number, got {value!r}")
    for key, label_value in labels.items():
        if not LABEL.fullmatch(key):
            raise ValueError(f"metric {name}: label name {key!r} must match {LABEL.pattern}")
        if (
            not isinstance(label_value, str)
            or not 0 < len(label_value) <= MAX_LABEL_VALUE
            or any(c in label_value for c in ",=#")
        ):
            raise ValueError(
                f"metric {name}: label {key} must be 1-{MAX_LABEL_VALUE} characters "
                "without ',', '=' or '#'"
            )


@dataclass(frozen=True)
class Series:
    """One label set of a metric over a window, aggregated."""

    labels: dict[str, str]
    value: float


class MetricsStore:
    """The ``metrics`` table: pk = metric name, sk = ``<minute>#<labels>``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record(
        self, kind: MetricKind, name: str, value: float, labels: Mapping[str, str], now: float
    ) -> None:
        validate(name, value, labels)
        minute = int(now // BUCKET_S)
        amount = Decimal(str(value))
        common: dict[str, Any] = {":kind": kind, ":exp": minute * BUCKET_S + RETENTION_S}
        if kind == "counter":
            expression = "ADD #v :v SET kind = :kind, expires_at = :exp"
            values: dict[str, Any] = {":v": amount}
        else:  # the newest reading of the minute wins, whatever order writes arrive in
            expression = "SET #v = :v, kind = :kind, expires_at = :exp, at_ms = :at"
            values = {":v": amount, ":at": int(now * 1000)}
        self._table.update_item(
            Key={"pk": name, "sk": f"{minute:010d}#{label_key(labels)}"},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={**values, **common},
        )

    def window(self, name: str, minutes: int, now: float) -> list[Series]:
        """Every label set of ``name`` seen in the last ``minutes`` whole minutes and this one:
        counters summed, gauges at their newest value. One Query (and its pages)."""
        end = int(now // BUCKET_S)
        start = end - minutes + 1
        items = all_items(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(name)
            & Key("sk").between(f"{start:010d}#", f"{end:010d}#\uffff"),
        )
        return aggregate(items)


def aggregate(items: Iterable[Mapping[str, Any]]) -> list[Series]:
    """Buckets (plain values) -> one Series per label set, sorted by labels."""
    sums: dict[str, float] = {}
    newest: dict[str, tuple[int, float]] = {}
    for item in items:
        labels = str(item["sk"]).split("#", 1)[1]
        if item.get("kind") == "gauge":
            stamp = (int(item["sk"][:10]), int(item.get("at_ms", 0)))
            key = stamp[0] * 10**13 + stamp[1]
            if labels not in newest or key >= newest[labels][0]:
                newest[labels] = (key, float(item["value"]))
        else:
            sums[labels] = sums.get(labels, 0.0) + float(item["value"])
    values = {**sums, **{labels: value for labels, (_, value) in newest.items()}}
    return [Series(parse_label_key(k), values[k]) for k in sorted(values)]
