"""An export's document: every category stored for the subject, and the Article 15 information
(purposes, recipients, retention, sources, rights). Pure: records in, a document out.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from privacy.logic.retention import RETENTION

# Every category an export lists, always present (an empty list: nothing of that kind).
CATEGORIES: tuple[str, ...] = (
    "customer",
    "subscriptions",
    "invoices",
    "payments",
    "billing_history",
    "billing_events",
    "dunning_emails",
    "revenue",
    "consents",
    "agent_runs",
    "agent_memory",
    "alert_emails",
    "usage",
    "audit",
)

# Billing state kinds -> the export's category.
KIND_CATEGORIES: dict[str, str] = {
    "customer": "customer",
    "subscription": "subscriptions",
    "discount": "subscriptions",
    "checkout_session": "subscriptions",
    "invoice": "invoices",
    "charge": "payments",
    "dispute": "payments",
    "dunning_case": "dunning_emails",
    "event": "billing_events",
}

PROCESSING: dict[str, Any] = {
    "purposes": [
        {
            "purpose": "billing",
            "what": "subscriptions, invoices and payments from Stripe; failed-payment emails",
            "basis": "contract (Art. 6(1)(b)); tax records: legal obligation (Art. 6(1)(c))",
        },
        {
            "purpose": "revenue reporting",
            "what": "MRR changes per customer, aggregated",
            "basis": "legitimate interest (Art. 6(1)(f))",
        },
        {
            "purpose": "AI agents",
            "what": "the tenant's agent runs and the memory they keep",
            "basis": "contract (Art. 6(1)(b))",
        },
        {
            "purpose": "operations and security",
            "what": "alert notifications, the audit log",
            "basis": "legitimate interest (Art. 6(1)(f)); accountability (Art. 5(2))",
        },
    ],
    "recipients": [
        {"recipient": "Stripe, Inc.", "why": "payment processing (the source of billing data)"},
        {"recipient": "Amazon Web Services", "why": "hosting, storage, email (SES) as processor"},
        {
            "recipient": "the configured model provider",
            "why": "agent runs: goals and context are sent to it to answer",
        },
        {"recipient": "alert channels (Slack, PagerDuty, email)", "why": "operators' alerts"},
    ],
    "retention": [asdict(rule) for rule in RETENTION],
    "sources": [
        {
            "source": "Stripe webhooks and API",
            "categories": ["customer", "subscriptions", "invoices", "payments"],
        },
        {"source": "the API, called by you or your keys", "categories": ["agent_runs", "consents"]},
        {
            "source": "derived here",
            "categories": ["revenue", "dunning_emails", "audit", "agent_memory", "usage"],
        },
    ],
    "rights": [
        "access (Art. 15): this export",
        "rectification (Art. 16): correct your details in Stripe; they flow here",
        "erasure (Art. 17): POST /v1/privacy/erasures",
        "restriction (Art. 18) and objection (Art. 21): contact the controller",
        "portability (Art. 20): this export is JSON",
        "withdraw consent (Art. 7(3)): POST /v1/privacy/consents with granted=false",
        "complain to a supervisory authority (Art. 77)",
    ],
}


def export_document(
    subject: dict[str, str], generated_at: str, records: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The export file: ``subject``, ``generated_at``, ``data`` (every category, each a list
    of records) and ``processing`` (Article 15)."""
    unknown = sorted(set(records) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"categories no export lists: {unknown}")
    return {
        "subject": dict(subject),
        "generated_at": generated_at,
        "data": {category: list(records.get(category, [])) for category in CATEGORIES},
        "processing": PROCESSING,
    }


def record_count(document: dict[str, Any]) -> int:
    return sum(len(v) for v in document["data"].values())
