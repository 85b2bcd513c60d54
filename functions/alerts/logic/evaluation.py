"""One evaluation of one rule: which alerts fire, which resolve. Pure: values in, plan out.

A rule watches a metric over its window; each label set of the metric is one series and one
fingerprint. A fingerprint with no open alert fires when the condition holds; an open one
resolves when it no longer does. A series that vanished from the window counts as 0 (a
counter with nothing in its window), so an alert whose metric went quiet resolves too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alerts.logic.rules import Rule, alert_labels, fingerprint, holds, rank, render_summary
from cognitionos.metrics_store import Series


@dataclass(frozen=True)
class OpenAlert:
    """An alert still firing or acknowledged, as its fingerprint's item records it."""

    fingerprint: str
    alert_id: str
    rule_id: str
    severity: str
    status: str
    labels: Mapping[str, str] = field(default_factory=dict)
    pending: bool = False  # its firing notifications are not queued yet


@dataclass(frozen=True)
class Fire:
    rule: Rule
    fingerprint: str
    labels: dict[str, str]
    value: float
    summary: str


@dataclass(frozen=True)
class Resolve:
    alert: OpenAlert
    value: float


@dataclass(frozen=True)
class Plan:
    fire: list[Fire]
    resolve: list[Resolve]


def plan_rule(rule: Rule, series: Iterable[Series], open_alerts: Mapping[str, OpenAlert]) -> Plan:
    """What ``rule`` does now, given its metric's series and the open alerts by fingerprint."""
    fire: list[Fire] = []
    resolve: list[Resolve] = []
    seen: set[str] = set()
    observed = list(series) or [Series({}, 0.0)]
    for one in observed:
        labels = alert_labels(rule, one.labels)
        fp = fingerprint(rule.rule_id, labels)
        seen.add(fp)
        condition = holds(rule.comparison, one.value, rule.threshold)
        if condition and fp not in open_alerts:
            summary = render_summary(rule, labels, one.value)
            fire.append(Fire(rule, fp, labels, one.value, summary))
        elif not condition and fp in open_alerts:
            resolve.append(Resolve(open_alerts[fp], one.value))
    for fp, alert in open_alerts.items():
        if (
            alert.rule_id == rule.rule_id
            and fp not in seen
            and not holds(rule.comparison, 0.0, rule.threshold)
        ):
            resolve.append(Resolve(alert, 0.0))
    return Plan(fire, resolve)


def inhibited(severity: str, labels: Mapping[str, str], firing: Iterable[OpenAlert]) -> bool:
    """A firing critical alert with the same labels mutes every lower severity."""
    if rank(severity) >= rank("critical"):
        return False
    return any(
        other.severity == "critical" and other.status == "firing" and dict(other.labels) == labels
        for other in firing
    )


def evaluation_order(rules: Iterable[Rule]) -> list[Rule]:
    """Critical rules first, so that an alert they open this run already inhibits others."""
    return sorted(rules, key=lambda rule: (-rank(rule.severity), rule.rule_id))
