"""Dunning rules: when a failed invoice payment opens, advances or closes a case, and which
email is due. Pure: values in, values out; times are Unix seconds passed in.

Order-free: every rule reads the case as stored and the event's own ``created``, never the
order of arrival. A closed case is final for failures (Stripe never retries a paid, voided or
uncollectible invoice, nor one whose subscription went ``unpaid``/``canceled``), so a late
``invoice.payment_failed`` cannot reopen it; a close that arrives before any failure leaves an
unlisted closed case behind (a tombstone) for the same reason. A failure from before the
close, delivered after it, is still recorded (no email), so the case ends listed as in-order
delivery would have left it. A failure is deduplicated on
(invoice id, ``attempt_count``): only a higher attempt advances a case or sends an email.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from billing.logic.state import invoice_subscription

CaseStatus = Literal["open", "recovered", "exhausted"]
CASE_STATUSES: tuple[CaseStatus, ...] = ("open", "recovered", "exhausted")
EmailKind = Literal["payment_failed", "reminder", "final_notice"]
# pending: decided and not yet handed to SES; sent: SES accepted it; no_address: the
# customer has no email address; skipped: the case closed before it went out.
EmailStatus = Literal["pending", "sent", "no_address", "skipped"]

# Subscription statuses after which Stripe retries no more: a case closes as exhausted.
ENDED_STATUSES = frozenset({"unpaid", "canceled", "incomplete_expired"})
# Subscriptions whose first invoice failing is a failed checkout, not dunning.
NOT_YET_STARTED = frozenset({"incomplete", "incomplete_expired"})
FIRST_INVOICE = "subscription_create"
# A reminder goes out once per scheduled retry, from 24 h before it until it is due.
REMINDER_LEAD_S = 24 * 3600
# A close that arrives before any failure is remembered this long (Stripe retries a
# delivery for 3 days; reconciliation requeues up to 30 days back).
TOMBSTONE_TTL_S = 45 * 24 * 3600

# Stripe's zero-decimal currencies: the amount is already in whole units.
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)

InvoiceOutcome = Literal["paid", "voided", "uncollectible"]
CLOSING_EVENTS: Mapping[str, InvoiceOutcome] = {
    "invoice.paid": "paid",
    "invoice.payment_succeeded": "paid",
    "invoice.voided": "voided",
    "invoice.marked_uncollectible": "uncollectible",
}
FAILED_EVENT = "invoice.payment_failed"


class InvalidInvoice(ValueError):
    """The invoice in an event lacks what a dunning rule needs; the message names it."""


@dataclass(frozen=True)
class EmailRecord:
    """One email of a case: decided at ``decided_at``, then sent (or not) once."""

    kind: EmailKind
    status: EmailStatus
    decided_at: int
    attempt: int
    next_attempt_at: int | None = None  # the retry a reminder announces
    sent_at: int | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Invoice:
    """What dunning reads from a Stripe invoice object; no personal data."""

    invoice_id: str
    customer: str | None
    subscription: str | None
    attempt_count: int
    next_payment_attempt: int | None
    amount_due: int
    currency: str
    hosted_invoice_url: str | None
    billing_reason: str | None


@dataclass(frozen=True)
class DunningCase:
    """A failed invoice's collection, keyed by invoice id.

    ``opened_at`` None marks a tombstone: closed before any failure was seen, never listed.
    ``version`` is the ``created`` of the newest event applied; ``revision`` counts writes
    (optimistic concurrency in the data layer, not a business value).
    """

    invoice_id: str
    customer: str | None
    subscription: str | None
    status: CaseStatus
    attempt_count: int
    next_attempt_at: int | None
    amount_due: int
    currency: str
    hosted_invoice_url: str | None
    version: int
    opened_at: int | None = None
    closed_at: int | None = None
    closed_reason: str | None = None
    churn: Literal["involuntary"] | None = None
    emails: Mapping[str, EmailRecord] = field(default_factory=dict)
    revision: int = 0

    @property
    def listed(self) -> bool:
        return self.opened_at is not None

    @property
    def email_status(self) -> EmailStatus | None:
        """The status of the latest email decided for the case."""
        if not self.emails:
            return None
        latest = max(self.emails.values(), key=lambda e: (e.decided_at, e.kind))
        return latest.status


def read_invoice(invoice: Mapping[str, Any]) -> Invoice:
    """The dunning view of a raw Stripe invoice (basil or older shape)."""
    invoice_id = invoice.get("id")
    if not isinstance(invoice_id, str) or not invoice_id.startswith("in_"):
        raise InvalidInvoice("the event's invoice has no id (in_...)")
    customer = invoice.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    attempt = invoice.get("attempt_count") or 0
    amount = invoice.get("amount_due") or 0
    next_attempt = invoice.get("next_payment_attempt")
    if not isinstance(attempt, int) or attempt < 0:
        raise InvalidInvoice(f"invoice {invoice_id}: attempt_count must be a whole number")
    if not isinstance(amount, int):
        raise InvalidInvoice(f"invoice {invoice_id}: amount_due must be an integer")
    if next_attempt is not None and not isinstance(next_attempt, int):
        raise InvalidInvoice(f"invoice {invoice_id}: next_payment_attempt must be a timestamp")
    url = invoice.get("hosted_invoice_url")
    return Invoice(
        invoice_id=invoice_id,
        customer=customer if isinstance(customer, str) else None,
        subscription=invoice_subscription(dict(invoice)),
        attempt_count=attempt,
        next_payment_attempt=next_attempt,
        amount_due=amount,
        currency=str(invoice.get("currency") or "").lower(),
        hosted_invoice_url=url if isinstance(url, str) else None,
        billing_reason=invoice.get("billing_reason"),
    )


def is_first_invoice_of_unstarted_subscription(
    invoice: Invoice, subscription_status: str | None
) -> bool:
    """The first invoice of an ``incomplete`` (or unknown) subscription failing is a failed
    checkout: the customer is still on the payment page, so it is not dunning."""
    return invoice.billing_reason == FIRST_INVOICE and (
        subscription_status is None or subscription_status in NOT_YET_STARTED
    )


def payment_failed_key(attempt: int) -> str:
    return f"payment_failed#{attempt}"


def reminder_key(next_attempt_at: int) -> str:
    return f"reminder#{next_attempt_at}"


FINAL_NOTICE_KEY = "final_notice"


def on_payment_failed(
    case: DunningCase | None,
    invoice: Invoice,
    created: int,
    subscription_status: str | None,
    status_since: int | None = None,
) -> DunningCase | None:
    """The case after ``invoice.payment_failed``; None when nothing changes.

    ``status_since``: when the subscription took ``subscription_status``. A failure of a
    subscription that has ended since is a late delivery of the failures that ended it: the
    case is on record as in-order delivery leaves it, exhausted at the end, its churn
    involuntary.
    """
    if case is None:
        return _first_failure(invoice, created, subscription_status, status_since)
    if case.status != "open":
        return _earlier_failure_of_closed(case, invoice, created)
    if invoice.attempt_count <= case.attempt_count:
        # Same or older attempt: handled, emailed or not. An older one delivered late still
        # dates the case from its first failure, as in-order delivery would.
        if case.opened_at is not None and created < case.opened_at:
            return dataclasses.replace(case, opened_at=created)
        return None
    advanced = dataclasses.replace(
        case,
        attempt_count=invoice.attempt_count,
        next_attempt_at=invoice.next_payment_attempt,
        amount_due=invoice.amount_due,
        currency=invoice.currency or case.currency,
        hosted_invoice_url=invoice.hosted_invoice_url or case.hosted_invoice_url,
        subscription=case.subscription or invoice.subscription,
        version=max(case.version, created),
    )
    return _with_email(
        advanced, payment_failed_key(invoice.attempt_count), "payment_failed", created
    )


def _first_failure(
    invoice: Invoice, created: int, subscription_status: str | None, status_since: int | None
) -> DunningCase | None:
    if is_first_invoice_of_unstarted_subscription(invoice, subscription_status):
        return None
    if subscription_status in ENDED_STATUSES:
        # Stripe retries no more: on record as exhausted, nobody to remind.
        ended = status_since if status_since is not None else created
        closed = dataclasses.replace(
            _from_invoice(invoice, "exhausted", created, opened_at=created),
            closed_at=max(created, ended),
            closed_reason=f"subscription_{subscription_status}",
            version=max(created, ended),
        )
        return dataclasses.replace(closed, churn="involuntary") if created <= ended else closed
    opened = _from_invoice(invoice, "open", created, opened_at=created)
    return _with_email(opened, payment_failed_key(invoice.attempt_count), "payment_failed", created)


def _earlier_failure_of_closed(
    case: DunningCase, invoice: Invoice, created: int
) -> DunningCase | None:
    """A closed case is final, but a failure from before its close, delivered late, is part
    of its history: the case is listed (a tombstone becomes a case) as in-order delivery
    would have left it, opened at its first failure. Nothing is emailed: it is over."""
    if invoice.billing_reason == FIRST_INVOICE or created > (case.closed_at or 0):
        return None  # a failed checkout is not dunning; a failure after the close is moot
    opened_at = min(created, case.opened_at) if case.opened_at is not None else created
    later_attempt = invoice.attempt_count > case.attempt_count
    if opened_at == case.opened_at and not later_attempt:
        return None
    return dataclasses.replace(
        case,
        opened_at=opened_at,
        attempt_count=invoice.attempt_count if later_attempt else case.attempt_count,
        amount_due=invoice.amount_due if later_attempt else case.amount_due,
        subscription=case.subscription or invoice.subscription,
        hosted_invoice_url=case.hosted_invoice_url or invoice.hosted_invoice_url,
    )


def on_invoice_closed(
    case: DunningCase | None, invoice: Invoice, created: int, outcome: InvoiceOutcome
) -> DunningCase | None:
    """The case after the invoice was paid (``recovered``), voided or marked uncollectible
    (``exhausted``); None when nothing changes.

    Paid wins over everything: a voided or uncollectible invoice that is paid after all was
    recovered. A close with no case yet leaves a tombstone so a late failure opens nothing.
    """
    status: CaseStatus = "recovered" if outcome == "paid" else "exhausted"
    reason = f"invoice_{outcome}"
    if case is None:
        if outcome == "paid" and invoice.amount_due == 0:
            return None  # nothing was ever due, so nothing can fail
        return dataclasses.replace(
            _from_invoice(invoice, status, created, opened_at=None),
            closed_at=created,
            closed_reason=reason,
        )
    if case.status == "recovered" or (case.status == "exhausted" and status == "exhausted"):
        return None
    return _close(case, status, reason, created)


def on_subscription_ended(case: DunningCase, status: str, created: int) -> DunningCase | None:
    """An open case whose subscription went ``unpaid``/``canceled`` (at ``created``) is
    exhausted, and the subscription's churn is involuntary. A failure newer than the status
    change (a later retry) keeps the case open."""
    if status not in ENDED_STATUSES or case.status != "open" or case.version > created:
        return None
    closed = _close(case, "exhausted", f"subscription_{status}", created)
    return dataclasses.replace(closed, churn="involuntary")


def due_email(case: DunningCase, now: int) -> tuple[str, EmailRecord] | None:
    """The reminder or final notice the job owes an open case at ``now``, if any.

    A reminder: once per scheduled retry, from ``REMINDER_LEAD_S`` before it until it is
    due (a missed window is not caught up: the retry's own outcome follows). A final
    notice: once, when Stripe has no further retry scheduled.
    """
    if case.status != "open":
        return None
    if case.next_attempt_at is None:
        key, kind, announced = FINAL_NOTICE_KEY, "final_notice", None
    elif case.next_attempt_at - REMINDER_LEAD_S <= now < case.next_attempt_at:
        key, kind = reminder_key(case.next_attempt_at), "reminder"
        announced = case.next_attempt_at
    else:
        return None
    if key in case.emails:
        return None
    record = EmailRecord(
        kind=kind,  # type: ignore[arg-type]
        status="pending",
        decided_at=now,
        attempt=case.attempt_count,
        next_attempt_at=announced,
    )
    return key, record


def with_email(case: DunningCase, key: str, record: EmailRecord) -> DunningCase | None:
    """``case`` with a newly decided email; None if that email was decided before."""
    if key in case.emails or case.status != "open":
        return None
    return dataclasses.replace(case, emails={**case.emails, key: record})


def pending_emails(
    case: DunningCase, retry_unaddressed: bool = False
) -> list[tuple[str, EmailRecord]]:
    """Emails still to send. ``retry_unaddressed``: also those that found no address (events
    arrive in any order: a payment can fail before the customer's own event brings the
    email); the job retries them while the case is open."""
    wanted = {"pending", "no_address"} if retry_unaddressed else {"pending"}
    return sorted(
        ((k, e) for k, e in case.emails.items() if e.status in wanted),
        key=lambda item: (item[1].decided_at, item[0]),
    )


def settle_email(
    case: DunningCase,
    key: str,
    status: EmailStatus,
    at: int,
    message_id: str | None = None,
) -> DunningCase | None:
    """Record what became of a pending (or unaddressed, retried) email; None if nothing
    changes."""
    record = case.emails.get(key)
    if record is None or record.status not in ("pending", "no_address"):
        return None
    if record.status == status:
        return None
    settled = dataclasses.replace(
        record, status=status, sent_at=at if status == "sent" else None, message_id=message_id
    )
    return dataclasses.replace(case, emails={**case.emails, key: settled})


def template_data(case: DunningCase, email: EmailRecord) -> dict[str, str]:
    """What an email template shows: link, amount, currency, attempt, next attempt date."""
    announced = email.next_attempt_at if email.kind == "reminder" else case.next_attempt_at
    return {
        "invoice_url": case.hosted_invoice_url or "",
        "amount": format_amount(case.amount_due, case.currency),
        "currency": case.currency.upper(),
        "attempt": str(email.attempt),
        "next_attempt": _date(announced) if announced is not None else "",
    }


def format_amount(minor_units: int, currency: str) -> str:
    """``6000, "usd"`` -> ``"60.00"``; zero-decimal currencies stay whole."""
    if currency.lower() in ZERO_DECIMAL:
        return str(minor_units)
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    return f"{sign}{whole}.{cents:02d}"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _from_invoice(
    invoice: Invoice, status: CaseStatus, created: int, opened_at: int | None
) -> DunningCase:
    return DunningCase(
        invoice_id=invoice.invoice_id,
        customer=invoice.customer,
        subscription=invoice.subscription,
        status=status,
        attempt_count=invoice.attempt_count,
        next_attempt_at=invoice.next_payment_attempt if status == "open" else None,
        amount_due=invoice.amount_due,
        currency=invoice.currency,
        hosted_invoice_url=invoice.hosted_invoice_url,
        version=created,
        opened_at=opened_at,
    )


def _with_email(case: DunningCase, key: str, kind: EmailKind, at: int) -> DunningCase:
    record = EmailRecord(kind=kind, status="pending", decided_at=at, attempt=case.attempt_count)
    return dataclasses.replace(case, emails={**case.emails, key: record})


def _close(case: DunningCase, status: CaseStatus, reason: str, created: int) -> DunningCase:
    emails = {
        k: dataclasses.replace(e, status="skipped") if e.status == "pending" else e
        for k, e in case.emails.items()
    }
    return dataclasses.replace(
        case,
        status=status,
        next_attempt_at=None,
        closed_at=created,
        closed_reason=reason,
        version=max(case.version, created),
        emails=emails,
    )
