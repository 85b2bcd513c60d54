"""The closed set of audit actions: an entry naming any other action is refused when written
and reported invalid when verified, so a typo cannot start a new kind of event silently."""

from __future__ import annotations

from typing import Literal, get_args

Action = Literal[
    # platform
    "api_key.created",
    "api_key.revoked",
    "auth.denied",
    "admin.job.run",
    # billing
    "webhook.rejected",
    "billing.event.processed",
    "subscription.changed",
    "dunning.case_opened",
    "dunning.reminder_sent",
    "dunning.final_notice_sent",
    "dunning.recovered",
    "dunning.exhausted",
    # agents
    "agent.run.started",
    "agent.run.cancelled",
    "agent.run.finished",
    # alerts
    "alert.channel.created",
    "alert.rule.created",
    "alert.silence.created",
    "alert.fired",
    "alert.acknowledged",
    "alert.resolved",
    # privacy and consent
    "privacy.export.requested",
    "privacy.export.completed",
    "privacy.erasure.requested",
    "privacy.erasure.completed",
    "privacy.compliance.checked",
    "consent.granted",
    "consent.withdrawn",
    "privacy.consent.recorded",
    # operators and the audit log itself
    "operator.signed_in",
    "operator.sign_in_failed",
    "operator.signed_out",
    "audit.anchored",
    "key.rotated",
]
ACTIONS: frozenset[str] = frozenset(get_args(Action))
