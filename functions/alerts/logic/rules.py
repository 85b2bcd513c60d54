"""Alert rules, severities and fingerprints: what an alert is, as values."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
Comparison = Literal[">", ">=", "<", "<="]
AlertStatus = Literal["firing", "acknowledged", "resolved"]
Event = Literal["firing", "acknowledged", "resolved"]
OPEN_STATUSES: frozenset[str] = frozenset({"firing", "acknowledged"})

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def holds(comparison: str, value: float, threshold: float) -> bool:
    return _COMPARE[comparison](value, threshold)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    name: str
    metric: str
    comparison: Comparison
    threshold: float
    window_minutes: int
    severity: Severity
    summary: str
    labels: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str | None = None
    created_at: str = ""
    builtin: bool = False  # a default rule, installed with the stack (logic/default_rules.py)


def fingerprint(rule_id: str, labels: Mapping[str, str]) -> str:
    """One alert per (rule, label set) while it fires: a hash of both, stable everywhere."""
    canonical = "\n".join([rule_id, *(f"{k}={labels[k]}" for k in sorted(labels))])
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def alert_labels(rule: Rule, series_labels: Mapping[str, str]) -> dict[str, str]:
    """The rule's labels, then the metric series' (a series label wins: it is more specific)."""
    return {**dict(rule.labels), **dict(series_labels)}


def render_summary(rule: Rule, labels: Mapping[str, str], value: float) -> str:
    """The rule's summary with ``{value}``, ``{threshold}`` and ``{<label>}`` filled in; a
    placeholder it does not know is left as written."""
    shown = int(value) if float(value).is_integer() else round(value, 4)
    values = {**dict(labels), "value": str(shown), "threshold": f"{rule.threshold:g}"}
    text = rule.summary
    for key, replacement in values.items():
        text = text.replace("{" + key + "}", replacement)
    return text
