"""The API view of a dunning case (CONTRACT.md, Billing: ``GET /v1/billing/dunning``)."""

from __future__ import annotations

from pydantic import BaseModel

from billing.logic.dunning import CaseStatus, DunningCase, EmailKind, EmailStatus
from cognitionos.timeutil import iso


class DunningEmailView(BaseModel):
    kind: EmailKind
    status: EmailStatus
    attempt: int
    sent_at: str | None


class DunningCaseView(BaseModel):
    invoice_id: str
    customer: str | None
    subscription: str | None
    status: CaseStatus
    attempt_count: int
    next_attempt_at: str | None
    amount_due: int
    currency: str
    hosted_invoice_url: str | None
    opened_at: str | None
    closed_at: str | None
    closed_reason: str | None
    churn: str | None
    email_status: EmailStatus | None
    emails: list[DunningEmailView]

    @classmethod
    def of(cls, case: DunningCase) -> DunningCaseView:
        emails = sorted(case.emails.values(), key=lambda e: (e.decided_at, e.kind))
        return cls(
            invoice_id=case.invoice_id,
            customer=case.customer,
            subscription=case.subscription,
            status=case.status,
            attempt_count=case.attempt_count,
            next_attempt_at=_iso(case.next_attempt_at),
            amount_due=case.amount_due,
            currency=case.currency,
            hosted_invoice_url=case.hosted_invoice_url,
            opened_at=_iso(case.opened_at),
            closed_at=_iso(case.closed_at),
            closed_reason=case.closed_reason,
            churn=case.churn,
            email_status=case.email_status,
            emails=[
                DunningEmailView(
                    kind=e.kind, status=e.status, attempt=e.attempt, sent_at=_iso(e.sent_at)
                )
                for e in emails
            ],
        )


def _iso(timestamp: int | None) -> str | None:
    return iso(timestamp) if timestamp is not None else None
