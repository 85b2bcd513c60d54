"""The API view of a dunning case (``GET /v1/billing/dunning``; docs/OPERATIONS.md, dunning)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from billing.logic.dunning import CaseStatus, DunningCase, EmailKind, EmailStatus
from cognitionos.timeutil import iso

TIME = "ISO-8601 UTC"
EMAIL_STATUS = (
    "`pending`: decided, not yet handed to SES; `sent`: SES accepted it; `no_address`: the "
    "customer has no email address; `skipped`: the case closed before it went out"
)


class DunningEmailView(BaseModel):
    kind: EmailKind = Field(
        description="`payment_failed` after a failure, a `reminder` before a retry, the "
        "`final_notice` when no retry is left",
        examples=["reminder"],
    )
    status: EmailStatus = Field(description=EMAIL_STATUS, examples=["sent"])
    attempt: int = Field(description="The payment attempt it is about", examples=[1])
    sent_at: str | None = Field(description=f"When SES accepted it, {TIME}", examples=[None])


class DunningCaseView(BaseModel):
    invoice_id: str = Field(description="Stripe's invoice id", examples=["in_1QZ3nJFx8cLr0aB2"])
    customer: str | None = Field(
        description="Stripe's customer id", examples=["cus_NffrFeUfNV2Hib"]
    )
    subscription: str | None = Field(
        description="Stripe's subscription id", examples=["sub_1QZ3nJFx8cLr0aB2"]
    )
    status: CaseStatus = Field(
        description="`open` while Stripe retries; `recovered` once paid; `exhausted` when "
        "Stripe retries no more",
        examples=["open"],
    )
    attempt_count: int = Field(description="Payment attempts so far", examples=[1])
    next_attempt_at: str | None = Field(
        description=f"Stripe's next retry, {TIME}; null when none is planned",
        examples=["2025-03-04T00:00:00Z"],
    )
    amount_due: int = Field(description="Owed, integer minor units of `currency`", examples=[14700])
    currency: str = Field(description="Lower-case ISO 4217 code", examples=["usd"])
    hosted_invoice_url: str | None = Field(
        description="Stripe's page where the customer can pay",
        examples=["https://invoice.stripe.com/i/acct_1/test_1"],
    )
    opened_at: str | None = Field(
        description=f"First failure, {TIME}", examples=["2025-03-01T00:00:05Z"]
    )
    closed_at: str | None = Field(description=f"When it closed, {TIME}", examples=[None])
    closed_reason: str | None = Field(
        description="Why it closed: `invoice_paid`, `invoice_voided`, `invoice_uncollectible`, or "
        "`subscription_<status>` when the subscription ended (`subscription_canceled`)",
        examples=[None],
    )
    churn: str | None = Field(
        description="`involuntary` when the case ended the subscription", examples=[None]
    )
    email_status: EmailStatus | None = Field(
        description="The latest email's status: " + EMAIL_STATUS, examples=["sent"]
    )
    emails: list[DunningEmailView] = Field(description="Emails decided for the case, in order")

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


class DunningCasePage(BaseModel):
    cases: list[DunningCaseView] = Field(description="Cases, newest first within a status")
    next_token: str | None = Field(
        description="Pass it back as `next_token` for the next page; null on the last page",
        examples=[None],
    )


def _iso(timestamp: int | None) -> str | None:
    return iso(timestamp) if timestamp is not None else None
