"""One run of ``alerts-evaluate``: every rule against its metric, alerts opened and resolved,
their notifications queued.

Safe to overlap with another run (a slow run meeting the next minute's): an alert opens only
with its fingerprint's item (a conditional transaction), so the second run's attempt fails
and it notifies nothing. An opened alert carries ``pending`` until its firing notifications
are queued: a run that died in between leaves it, and the next run queues them (the
notification log drops any already queued). A resolution queues its notifications first and
then resolves, so a crash in between repeats the resolution next run instead of losing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from alerts.logic.evaluation import Fire, OpenAlert, evaluation_order, inhibited, plan_rule
from alerts.logic.routing import Route, Silence, routed, silenced
from alerts.logic.rules import Rule
from cognitionos.metrics_store import Series
from cognitionos.timeutil import iso


class Store(Protocol):
    def rules(self) -> list[Rule]: ...

    def routes(self) -> list[Route]: ...

    def silences(self) -> list[Silence]: ...

    def open_alerts(self) -> dict[str, OpenAlert]: ...

    def open_alert(self, alert: dict[str, Any], value: float) -> bool: ...

    def notified(self, fingerprint: str) -> None: ...

    def transition(self, alert_id: str, fingerprint: str, to: str, now: str) -> bool:
        """Moved by the evaluation (the store audits it as ``alerts-evaluate``)."""
        ...


class Queue(Protocol):
    def send(self, alert_id: str, channel_ids: Iterable[str], event: str) -> int: ...


Metrics = Callable[[str, int], list[Series]]  # metric, window minutes -> series


@dataclass
class Summary:
    rules: int = 0
    fired: int = 0
    resolved: int = 0
    notifications: int = 0
    muted: int = 0  # silenced or inhibited
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "fired": self.fired,
            "resolved": self.resolved,
            "notifications": self.notifications,
            "muted": self.muted,
            "errors": self.errors,
        }


def new_alert_id() -> str:
    return f"alert_{uuid.uuid4().hex}"


@dataclass
class Evaluator:
    store: Store
    queue: Queue
    metrics: Metrics
    clock: Callable[[], float]

    def run(self, builtin_rules: Iterable[Rule]) -> Summary:
        now = self.clock()
        rules = evaluation_order([*builtin_rules, *self.store.rules()])
        run = _Run(now, self.store.routes(), self.store.silences(), self.store.open_alerts())
        run.summary.rules = len(rules)
        for alert in list(run.open_alerts.values()):
            if alert.pending:  # a run before this one opened it and did not finish
                self._notify_firing(alert, run)
        for rule in rules:
            try:
                series = self.metrics(rule.metric, rule.window_minutes)
            except Exception as exc:  # one unreadable metric must not stop every rule
                run.summary.errors.append(f"{rule.rule_id}: {type(exc).__name__}: {exc}")
                continue
            mine = {fp: a for fp, a in run.open_alerts.items() if a.rule_id == rule.rule_id}
            plan = plan_rule(rule, series, mine)
            for fire in plan.fire:
                self._open(rule, fire, run)
            for resolve in plan.resolve:
                self._resolve(resolve.alert, run)
        if run.summary.errors:
            raise EvaluationIncomplete(run.summary)
        return run.summary

    def _open(self, rule: Rule, fire: Fire, run: _Run) -> None:
        alert: dict[str, Any] = {
            "alert_id": new_alert_id(),
            "rule_id": rule.rule_id,
            "fingerprint": fire.fingerprint,
            "severity": rule.severity,
            "status": "firing",
            "summary": fire.summary,
            "labels": fire.labels,
            "started_at": iso(run.now),
            "runbook_url": rule.runbook_url,
        }
        if not self.store.open_alert(alert, fire.value):
            return  # another run opened it first and notifies for it
        run.summary.fired += 1
        opened = OpenAlert(
            fire.fingerprint,
            alert["alert_id"],
            rule.rule_id,
            rule.severity,
            "firing",
            fire.labels,
            pending=True,
        )
        run.open_alerts[fire.fingerprint] = opened
        self._notify_firing(opened, run)

    def _resolve(self, alert: OpenAlert, run: _Run) -> None:
        queued = self._queue(alert, "resolved", run)
        if self.store.transition(alert.alert_id, alert.fingerprint, "resolved", iso(run.now)):
            run.summary.resolved += 1
            run.summary.notifications += queued
        run.open_alerts.pop(alert.fingerprint, None)

    def _notify_firing(self, alert: OpenAlert, run: _Run) -> None:
        if inhibited(alert.severity, alert.labels, run.open_alerts.values()):
            run.summary.muted += 1
        else:
            run.summary.notifications += self._queue(alert, "firing", run)
        self.store.notified(alert.fingerprint)

    def _queue(self, alert: OpenAlert, event: str, run: _Run) -> int:
        if silenced(alert.labels, run.silences, int(run.now)):
            run.summary.muted += 1
            return 0
        channels = routed(alert.severity, alert.labels, run.routes)
        return self.queue.send(alert.alert_id, channels, event) if channels else 0


@dataclass
class _Run:
    """What one run reads once and keeps up to date as it goes."""

    now: float
    routes: list[Route]
    silences: list[Silence]
    open_alerts: dict[str, OpenAlert]
    summary: Summary = field(default_factory=Summary)


class EvaluationIncomplete(RuntimeError):
    """Some rules could not be read; the rest ran. Raised so the job's error alarm sees it."""

    def __init__(self, summary: Summary) -> None:
        super().__init__(f"{len(summary.errors)} rules not evaluated: {summary.errors}")
        self.summary = summary
