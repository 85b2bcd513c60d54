"""What a dunning case's change records in its customer's audit chain (docs/AUDIT.md).

Derived from the stored case and its replacement, so it is written in the same conditional
write as the case: a follow-up delivered twice changes nothing the second time, and records
nothing either.
"""

from __future__ import annotations

from typing import Any

from billing.logic.dunning import DunningCase

SENT_ACTIONS = {"reminder": "dunning.reminder_sent", "final_notice": "dunning.final_notice_sent"}
CLOSED_ACTIONS = {"recovered": "dunning.recovered", "exhausted": "dunning.exhausted"}


def audit_transitions(
    previous: DunningCase | None, changed: DunningCase
) -> list[tuple[str, dict[str, Any]]]:
    """``(action, details)`` for each audited step from ``previous`` to ``changed``."""
    found: list[tuple[str, dict[str, Any]]] = []
    was_open = previous is not None and previous.opened_at is not None
    was_open = was_open and previous is not None and previous.status == "open"
    opened_before = previous is not None and previous.opened_at is not None
    if changed.opened_at is not None and not opened_before:
        found.append(
            (
                "dunning.case_opened",
                {
                    "attempt_count": changed.attempt_count,
                    "amount_due": changed.amount_due,
                    "currency": changed.currency,
                },
            )
        )
    if was_open and changed.status in CLOSED_ACTIONS:
        details = {"closed_reason": changed.closed_reason, "attempt_count": changed.attempt_count}
        found.append((CLOSED_ACTIONS[changed.status], details))
    for key, email in sorted(changed.emails.items()):
        before = previous.emails.get(key) if previous else None
        newly_sent = email.status == "sent" and (before is None or before.status != "sent")
        if newly_sent and email.kind in SENT_ACTIONS:
            found.append((SENT_ACTIONS[email.kind], {"attempt": email.attempt}))
    return found
