"""Business metrics that alert rules read: counters in per-minute buckets, gauges as their
latest value.

One emission is one DynamoDB ``UpdateItem``, never a read. A counter ``ADD``s to the bucket of
(metric, labels, minute); buckets expire (TTL) after a day, longer than any rule's window. A
gauge ``SET``s the one item of (metric, labels), conditional on being the newer reading, and
never expires: a gauge holds its value until it is set again (MRR set when it last moved is
still the MRR an hour later), so a rule over it never sees a quiet gauge as 0. A reader gets a
metric with one ``Query`` (every label set at once) and aggregates it: a counter sums its
buckets in the window, a gauge is its latest value whatever the window.

A function that emits declares, in ``infra/topology.py``, ``tables=(..., METRIC_RECORDING)``::

    from cognitionos.metrics_store import increment, set_gauge

    increment("billing.payments_failed")
    increment("agents.cost_usd", 0.42, labels={"model": "gpt-4o"})
    set_gauge("billing.mrr", 125000, labels={"tenant_id": "cus_1", "currency": "usd"})

Emit a counter inside a path that runs once per business fact (after an idempotent write
succeeded), so a redelivered message does not count twice. A gauge is a set: setting it again
to the value just read is harmless, so it may be emitted on every delivery.
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
GAUGE_PREFIX = "gauge#"  # sorts after every minute bucket (digits), so one Query reads both


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


def set_gauge(
    name: str,
    value: float,
    *,
    labels: Mapping[str, str] | None = None,
    at: float | None = None,
) -> None:
    """Record gauge ``name`` (with ``labels``) as ``value``, read ``at`` (epoch seconds; now
    by default): the newest reading wins, whatever order the writes arrive in."""
    _emit("gauge", name, value, labels, time.time() if at is None else at)


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
        amount = Decimal(str(value))
        if kind == "gauge":
            self._set_gauge(name, amount, labels, int(now * 1000))
            return
        minute = int(now // BUCKET_S)
        self._table.update_item(
            Key={"pk": name, "sk": f"{minute:010d}#{label_key(labels)}"},
            UpdateExpression="ADD #v :v SET kind = :kind, expires_at = :exp",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={
                ":v": amount,
                ":kind": kind,
                ":exp": minute * BUCKET_S + RETENTION_S,
            },
        )

    def _set_gauge(self, name: str, amount: Decimal, labels: Mapping[str, str], at_ms: int) -> None:
        try:
            self._table.update_item(
                Key={"pk": name, "sk": f"{GAUGE_PREFIX}{label_key(labels)}"},
                UpdateExpression="SET #v = :v, kind = :kind, at_ms = :at",
                ConditionExpression="attribute_not_exists(at_ms) OR at_ms <= :at",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":v": amount, ":kind": "gauge", ":at": at_ms},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return  # a newer reading is stored already: it stays, whatever order writes came in

    def window(self, name: str, minutes: int, now: float) -> list[Series]:
        """Every label set of ``name``: a counter summed over the last ``minutes`` whole
        minutes and this one, a gauge at its latest value. One Query (and its pages)."""
        end = int(now // BUCKET_S)
        start = end - minutes + 1
        items = all_items(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(name)
            & Key("sk").between(f"{start:010d}#", f"{GAUGE_PREFIX}\uffff"),
        )
        return aggregate(items, until_minute=end)


def aggregate(items: Iterable[Mapping[str, Any]], until_minute: int | None = None) -> list[Series]:
    """Items (plain values) -> one Series per label set, sorted by labels: counter buckets
    summed (none after ``until_minute``: a writer's clock ahead of ours), a gauge's newest
    reading taken (by ``at_ms``)."""
    sums: dict[str, float] = {}
    newest: dict[str, tuple[int, float]] = {}
    for item in items:
        labels = str(item["sk"]).split("#", 1)[1]
        if item.get("kind") == "gauge":
            at_ms = int(item.get("at_ms", 0))
            if labels not in newest or at_ms >= newest[labels][0]:
                newest[labels] = (at_ms, float(item["value"]))
        elif until_minute is None or int(str(item["sk"])[:10]) <= until_minute:
            sums[labels] = sums.get(labels, 0.0) + float(item["value"])
    values = {**sums, **{labels: value for labels, (_, value) in newest.items()}}
    return [Series(parse_label_key(k), values[k]) for k in sorted(values)]
