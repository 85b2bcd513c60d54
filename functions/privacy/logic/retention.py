"""How long each category of a subject's data is kept, and why: the one table that the export's
Article 15 section, the erasure's result and docs/PRIVACY.md ("Retention") all say.

Pure: dates in, dates out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Invoices and payment records: commercial and tax record keeping. HGB §257(4) and AO §147(3)
# keep accounting vouchers 10 years (8 since 2025 for some; we keep 10, the longer), counted
# from the end of the calendar year in which the record was made (HGB §257(5), AO §147(4)).
INVOICE_RETENTION_YEARS = 10
QUEUE_RETENTION_DAYS = 4  # billing-events: SQS's default message retention, kept by the stack
DLQ_RETENTION_DAYS = 14  # billing-events-dlq: its retention (a message's age starts again)
EVENT_BODIES_DAYS = 18  # the event-bodies bucket's lifecycle rule (queue + DLQ)
PITR_DAYS = 35  # DynamoDB point-in-time recovery: every table, 35 days of restorable state
EXPORT_OBJECT_DAYS = 7  # the privacy-exports bucket's lifecycle rule
REQUEST_RECORD_DAYS = 365  # a privacy request's record, after it ended (TTL)
AGENT_RUN_DAYS = 30  # agent runs (TTL)


@dataclass(frozen=True)
class RetentionRule:
    category: str
    store: str
    what: str
    kept: str
    enforced: str
    basis: str


RETENTION: tuple[RetentionRule, ...] = (
    RetentionRule(
        "customer",
        "billing table (CUSTOMER#<id>)",
        "Stripe customer: email and name sealed with the subject's data key, currency",
        "while the customer exists in Stripe; erased on request",
        "erasure deletes the item and destroys the key",
        "contract (Art. 6(1)(b))",
    ),
    RetentionRule(
        "subscriptions",
        "billing table (SUBSCRIPTION#<id>, HISTORY#<customer>)",
        "subscriptions, discounts, their versions",
        "while the customer exists; erased on request",
        "erasure deletes them; the MRR change records are kept under a pseudonym",
        "contract (Art. 6(1)(b))",
    ),
    RetentionRule(
        "invoices",
        "billing table (INVOICE#<id>)",
        "amounts, status, period (no personal field)",
        f"{INVOICE_RETENTION_YEARS} years from the end of the invoice's year",
        "erasure pseudonymises the customer id and sets the expires_at TTL",
        "legal obligation (Art. 6(1)(c)): HGB §257, AO §147",
    ),
    RetentionRule(
        "payments",
        "billing table (CHARGE#<id>, DISPUTE#<id>)",
        "amounts, refunds, disputes (no personal field)",
        f"{INVOICE_RETENTION_YEARS} years from the end of the payment's year",
        "erasure pseudonymises the customer id and sets the expires_at TTL",
        "legal obligation (Art. 6(1)(c)): HGB §257, AO §147",
    ),
    RetentionRule(
        "billing_events",
        "billing table (EVENT#<id>)",
        "the Stripe event log: ids, types, status (no payload)",
        "as the event log keeps them",
        "erasure pseudonymises the customer id; kept so a redelivered event is a duplicate",
        "legitimate interest (Art. 6(1)(f)): exactly-once processing",
    ),
    RetentionRule(
        "dunning_emails",
        "billing table (DUNNING#<invoice>)",
        "failed-payment cases and the emails sent about them",
        "while the case is open; erased on request",
        "erasure deletes the case",
        "contract (Art. 6(1)(b))",
    ),
    RetentionRule(
        "revenue",
        "revenue table (CUSTOMER#<id>), billing MRR feed",
        "MRR change records (amounts and dates)",
        "as long as revenue history is reported",
        "erasure moves them under a pseudonym: totals stay right, no one is named",
        "legitimate interest (Art. 6(1)(f)): revenue reporting",
    ),
    RetentionRule(
        "agent_runs",
        "agents table (RUN#<id>)",
        "goals, plans, outputs sealed with the tenant's data key",
        f"{AGENT_RUN_DAYS} days",
        "TTL; erasure deletes them and destroys the key",
        "contract (Art. 6(1)(b))",
    ),
    RetentionRule(
        "agent_memory",
        "agents table (MEMORY#<tenant>)",
        "what finished runs learnt, sealed with the tenant's data key",
        "until erased",
        "erasure deletes it and destroys the key",
        "contract (Art. 6(1)(b))",
    ),
    RetentionRule(
        "alert_emails",
        "alerts table (CHANNEL#<id>)",
        "email channels whose recipients include the subject (config sealed)",
        "while the channel exists",
        "erasure removes the recipient and re-seals the config",
        "legitimate interest (Art. 6(1)(f)): operating the service",
    ),
    RetentionRule(
        "usage",
        "usage table",
        "metered usage reported to Stripe",
        "until its TTL",
        "erasure pseudonymises the tenant",
        "contract (Art. 6(1)(b)): billing",
    ),
    RetentionRule(
        "consents",
        "privacy table (CONSENT#<customer>)",
        "consent records: purpose, granted, notice version, method, time",
        "for as long as the processing they allowed can be questioned",
        "kept on erasure; any sealed field is shredded with the key",
        "legal obligation (Art. 7(1)): proof of consent",
    ),
    RetentionRule(
        "audit",
        "audit table",
        "audit entries about the subject: ids, actions, times (no personal data)",
        "as long as the audit log (the hash chain must stay verifiable)",
        "no one may update or delete an entry (IAM deny); sealed details shredded with the key",
        "accountability (Art. 5(2), Art. 30)",
    ),
    RetentionRule(
        "privacy_requests",
        "privacy table (REQUEST#<id>)",
        "the export or erasure request and its result",
        f"{REQUEST_RECORD_DAYS} days after it ended",
        "TTL (expires_at)",
        "accountability (Art. 5(2), Art. 12)",
    ),
    RetentionRule(
        "exports",
        "privacy-exports bucket",
        "the export file",
        f"{EXPORT_OBJECT_DAYS} days",
        "lifecycle rule; an erasure deletes the subject's at once",
        "the subject's request (Art. 15)",
    ),
)


def end_of_year(moment: datetime) -> datetime:
    return datetime(moment.year, 12, 31, 23, 59, 59, tzinfo=UTC)


def record_retained_until(
    created_s: int | None, period_end_s: int | None, now: datetime
) -> datetime:
    """An invoice's or payment's last day: ``INVOICE_RETENTION_YEARS`` after the end of the
    calendar year of its period end (else its creation, else now)."""
    basis_s = period_end_s or created_s
    moment = datetime.fromtimestamp(basis_s, UTC) if basis_s else now
    last = end_of_year(moment)
    return last.replace(year=last.year + INVOICE_RETENTION_YEARS)


def pending_expiry(erased_at: datetime) -> list[dict[str, str]]:
    """Copies of the subject's data an erasure cannot delete at once, and when each is gone."""

    def at(days: int) -> str:
        return (erased_at + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return [
        {
            "store": "queue:billing-events",
            "until": at(QUEUE_RETENTION_DAYS),
            "why": "SQS deletes no message selectively: a queued Stripe event (plaintext) "
            f"expires after the queue's {QUEUE_RETENTION_DAYS}-day retention",
        },
        {
            "store": "queue:billing-events-dlq",
            "until": at(QUEUE_RETENTION_DAYS + DLQ_RETENTION_DAYS),
            "why": f"a failed event waits in the DLQ up to {DLQ_RETENTION_DAYS} days after "
            "its time in the queue",
        },
        {
            "store": "bucket:event-bodies",
            "until": at(EVENT_BODIES_DAYS),
            "why": "a parked event body that does not name the customer id in its text is "
            f"deleted by the bucket's {EVENT_BODIES_DAYS}-day lifecycle rule (those that do "
            "are deleted by the erasure)",
        },
        {
            "store": "dynamodb:point-in-time-recovery",
            "until": at(PITR_DAYS),
            "why": f"every table keeps {PITR_DAYS} days of restorable state; a restore "
            "before then must be followed by this erasure again (docs/PRIVACY.md)",
        },
    ]
