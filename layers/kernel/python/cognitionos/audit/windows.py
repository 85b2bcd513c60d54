"""Audit entries for refusals anyone can cause, bounded: at most one per key (a reason, an
email hash) per minute in an execution environment, the refusals in between counted and
carried by the next entry, so the entries' counts add up to every refusal while a flood
writes almost nothing. Used for refused webhooks (``webhook.rejected``) and sign-ins of a
locked email (``operator.sign_in_failed``): both answer the public internet.

Pure: the clock's readings come in, the decision goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW_S = 60.0


@dataclass(frozen=True)
class RejectionReport:
    """What one entry says: ``count`` refusals of ``reason`` (the window's key), the first
    at ``since`` (this one included, and those suppressed before it)."""

    reason: str
    count: int
    since: float


@dataclass
class _Pending:
    count: int = 0
    since: float = 0.0


@dataclass
class RejectionWindows:
    """One per execution environment: per reason, the refusals not yet in an entry and when
    the last entry was written."""

    window_s: float = WINDOW_S
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _written_at: dict[str, float] = field(default_factory=dict)

    def refused(self, reason: str, now: float) -> RejectionReport | None:
        """Count a refusal; the report to write now, or None while its reason's window is
        still closed (the refusal waits for the next report)."""
        pending = self._pending.setdefault(reason, _Pending())
        if pending.count == 0:
            pending.since = now
        pending.count += 1
        last = self._written_at.get(reason)
        if last is not None and now - last < self.window_s:
            return None
        return RejectionReport(reason, pending.count, pending.since)

    def written(self, report: RejectionReport, now: float) -> None:
        """The report's entry is stored: its refusals are accounted for."""
        pending = self._pending[report.reason]
        pending.count -= report.count
        self._written_at[report.reason] = now

    def failed(self, report: RejectionReport, now: float) -> None:
        """The entry could not be stored: its refusals wait for the next report, which is
        tried a window later (a struggling table is not asked once per refusal)."""
        self._written_at[report.reason] = now

    def suppressed(self) -> dict[str, int]:
        """Refusals counted but in no entry yet, per reason."""
        return {reason: p.count for reason, p in self._pending.items() if p.count}
