"""``webhook.rejected`` in the operators' audit chain, bounded (``cognitionos.audit.windows``).

``POST /webhooks/stripe`` is public: anyone can make it refuse deliveries. Each refusal is
counted in this execution environment; at most one entry per reason per minute is written,
carrying the count of refusals since the last one. A 400 waits on one audit transaction at
most (``attempts=1``, plus the chain head's read on a cold start): an entry that loses the
race for the chain's head, or meets an error, is not retried; its count is carried to the
next entry, a minute later, and the miss is logged and counted (``WebhookRejectionsUnaudited``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from billing.logic.webhook import NOT_AN_EVENT, WebhookRejected
from cognitionos.audit.store import AuditLog, ChainContended, audit_log
from cognitionos.audit.windows import RejectionReport, RejectionWindows
from cognitionos.errors import BadRequest
from cognitionos.observability import MetricUnit, logger, metrics
from cognitionos.timeutil import iso

ACTOR = "anonymous"  # nobody proved who sent it; no address is kept (it is personal data)
RESOURCE = "webhook:stripe"


class RejectionAudit:
    def __init__(
        self,
        audit: AuditLog,
        windows: RejectionWindows | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._audit = audit
        self._windows = windows or RejectionWindows()
        self._clock = clock

    @contextmanager
    def audited(self) -> Iterator[None]:
        """Refusals raised inside are counted (and maybe recorded), then raised on."""
        try:
            yield
        except WebhookRejected as refusal:
            self.refused(refusal.reason)
            raise
        except BadRequest:  # not UTF-8, or an envelope field missing
            self.refused(NOT_AN_EVENT)
            raise

    def refused(self, reason: str) -> None:
        metrics.add_metric("WebhooksRejected", MetricUnit.Count, 1)  # every 400, in the logs
        now = self._clock()
        report = self._windows.refused(reason, now)
        if report is None:
            return
        try:
            self._record(report, now)
        except (ChainContended, ClientError, BotoCoreError) as error:
            self._windows.failed(report, now)
            metrics.add_metric("WebhookRejectionsUnaudited", MetricUnit.Count, report.count)
            logger.warning(
                "webhook.rejected not recorded; its count goes in the next entry",
                extra={"reason": reason, "count": report.count, "error": type(error).__name__},
            )
            return
        self._windows.written(report, now)

    def _record(self, report: RejectionReport, now: float) -> None:
        self._audit.record(
            "webhook.rejected",
            actor=ACTOR,
            resource=RESOURCE,
            details={
                "reason": report.reason,
                "count": report.count,  # this refusal and those suppressed before it
                "since": iso(report.since),
                "window_s": int(self._windows.window_s),
            },
            attempts=1,
        )

    def suppressed(self) -> dict[str, int]:
        return self._windows.suppressed()


@functools.cache
def rejection_audit() -> RejectionAudit:
    """The execution environment's counter and writer."""
    return RejectionAudit(audit_log())
