"""The rules every deployment has from the start, each with its runbook in docs/runbooks/.

They are built in: the evaluator runs them beside the stored rules, so a fresh stack watches
itself before anyone configures anything. Their ids start with ``default-``.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.logic.alarms import ALARM_METRIC
from alerts.logic.rules import Rule

RUNBOOKS = "docs/runbooks"  # in this repository; each names the alert it is for
AGENT_SPEND_LIMIT_USD = 50.0  # an hour of agent spend worth a page
# The gauge the privacy-compliance job sets to its findings' count (functions/privacy).
COMPLIANCE_FINDINGS_METRIC = "privacy.compliance_findings"


def default_rules(queues: Iterable[str]) -> list[Rule]:
    """The default rules; ``queues``: the names of the queues whose DLQ depth is read."""
    rules = [
        Rule(
            rule_id=f"default-dlq-not-empty-{queue}",
            name=f"{queue}: dead letters",
            metric=f"queue.{queue}.dlq_depth",
            comparison=">",
            threshold=0,
            window_minutes=1,
            severity="high",
            summary=f"{{value}} messages in the {queue} dead-letter queue",
            labels={"queue": queue},
            runbook_url=f"{RUNBOOKS}/{queue}-dlq.md",
            builtin=True,
        )
        for queue in sorted(queues)
    ]
    rules += [
        Rule(
            rule_id="default-payments-failing",
            name="Payments failing",
            metric="billing.payments_failed",
            comparison=">=",
            threshold=5,
            window_minutes=60,
            severity="high",
            summary="{value} invoice payments failed in the last hour",
            labels={"context": "billing"},
            runbook_url=f"{RUNBOOKS}/payments-failing.md",
            builtin=True,
        ),
        Rule(
            rule_id="default-agent-spend",
            name="Agent spend over the limit",
            metric="agents.cost_usd",
            comparison=">",
            threshold=AGENT_SPEND_LIMIT_USD,
            window_minutes=60,
            severity="high",
            summary="Agents spent ${value} in the last hour (limit ${threshold})",
            labels={"context": "agents"},
            runbook_url=f"{RUNBOOKS}/agent-spend.md",
            builtin=True,
        ),
        Rule(
            rule_id="default-audit-verification",
            name="Audit log verification failing",
            metric="audit.verification_failures",
            comparison=">",
            threshold=0,
            window_minutes=60,
            severity="critical",
            summary="The audit log's hash chain failed verification {value} times",
            labels={"context": "audit"},
            runbook_url=f"{RUNBOOKS}/audit-verification.md",
            builtin=True,
        ),
        Rule(  # the privacy-compliance job's last run (weekly, or on demand)
            rule_id="default-privacy-compliance",
            name="Personal data stored in plaintext, or a store's settings drifted",
            metric=COMPLIANCE_FINDINGS_METRIC,
            comparison=">",
            threshold=0,
            window_minutes=1,  # a gauge: its latest value, whatever the window
            severity="high",
            summary="Privacy compliance findings: {value} (plaintext personal data, settings)",
            labels={"context": "privacy"},
            runbook_url=f"{RUNBOOKS}/privacy-compliance.md",
            builtin=True,
        ),
        Rule(  # one alert per alarm: the gauge's label names it (logic/alarms.py)
            rule_id="default-cloudwatch-alarms",
            name="A CloudWatch alarm of the stack is in ALARM",
            metric=ALARM_METRIC,
            comparison=">",
            threshold=0,
            window_minutes=1,
            severity="high",
            summary="CloudWatch alarm {alarm} is in ALARM",
            labels={"source": "cloudwatch"},
            runbook_url=f"{RUNBOOKS}/cloudwatch-alarms.md",
            builtin=True,
        ),
    ]
    return rules
