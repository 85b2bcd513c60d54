"""The dunning service the event processor and the ``dunning`` job call.

It reads a case, applies a pure rule (``billing.logic.dunning``), saves the result with an
optimistic-concurrency write, then delivers the case's pending emails. Email is
at-least-once: an email is first recorded ``pending`` on the case, then handed to SES, then
marked ``sent`` with a conditional write. A crash between the last two steps sends it again
on the next delivery of the event (or the next job run); a redelivered event never decides
a second email, because the decision is keyed by invoice id and attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from billing.logic import dunning
from billing.logic.dunning import DunningCase, EmailKind, EmailRecord

MAX_WRITE_ATTEMPTS = 5


class CaseStore(Protocol):
    def get(self, invoice_id: str) -> DunningCase | None: ...

    def save(
        self,
        case: DunningCase,
        expected_revision: int | None,
        previous: DunningCase | None = None,
    ) -> bool:
        """Write ``case`` if the stored revision is still ``expected_revision`` (None: no
        case yet); False if another writer got there first. ``previous``: the stored case
        it replaces, from which the write's audit entries are derived."""
        ...

    def cases_of_subscription(self, subscription_id: str) -> list[DunningCase]: ...

    def open_cases(self) -> Iterator[DunningCase]: ...


class Mailer(Protocol):
    def send(self, kind: EmailKind, to: str, data: Mapping[str, str]) -> str:
        """Send one templated email; SES's message id."""
        ...


class RecipientDirectory(Protocol):
    def email_of(self, customer_id: str) -> str | None: ...


class ConcurrentUpdate(RuntimeError):
    """A case kept changing under us; the caller's trigger retries."""


@dataclass
class Delivery:
    """What delivering a case's pending emails did, by outcome."""

    sent: int = 0
    no_address: int = 0

    def add(self, other: Delivery) -> None:
        self.sent += other.sent
        self.no_address += other.no_address


@dataclass
class JobSummary:
    open_cases: int = 0
    reminders: int = 0
    final_notices: int = 0
    emails_sent: int = 0
    no_address: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class Dunning:
    """Opens, advances and closes dunning cases and emails the customer.

    ``clock`` returns Unix seconds; it stamps when an email was handed to SES.
    """

    def __init__(
        self,
        cases: CaseStore,
        mailer: Mailer,
        recipients: RecipientDirectory,
        clock: Callable[[], int],
    ) -> None:
        self._cases = cases
        self._mailer = mailer
        self._recipients = recipients
        self._clock = clock

    def on_invoice_event(
        self,
        event_type: str,
        event_created: int,
        invoice: Mapping[str, Any],
        subscription_status: str | None,
        status_since: int | None = None,
    ) -> DunningCase | None:
        """Apply an invoice event (any type; those dunning does not act on change nothing).

        ``subscription_status``: the stored status of the invoice's subscription, None if
        unknown, and ``status_since`` when it took that status. Returns the case as it now
        stands, or None if there is none.
        """
        if event_type == dunning.FAILED_EVENT:
            facts = dunning.read_invoice(invoice)
            case, _ = self._update(
                facts.invoice_id,
                lambda c: dunning.on_payment_failed(
                    c, facts, event_created, subscription_status, status_since
                ),
            )
        elif event_type in dunning.CLOSING_EVENTS:
            facts = dunning.read_invoice(invoice)
            outcome = dunning.CLOSING_EVENTS[event_type]
            case, _ = self._update(
                facts.invoice_id,
                lambda c: dunning.on_invoice_closed(c, facts, event_created, outcome),
            )
        else:
            return None
        if case is not None:
            self._deliver(case)
        return case

    def on_subscription_status(
        self, subscription_id: str, status: str, event_created: int
    ) -> list[DunningCase]:
        """A subscription now ``unpaid``/``canceled``: its open cases close as exhausted and
        the churn is marked involuntary on them. Returns the cases this closed."""
        if status not in dunning.ENDED_STATUSES:
            return []
        closed = []
        for case in self._cases.cases_of_subscription(subscription_id):
            if case.status != "open":
                continue
            after, changed = self._update(
                case.invoice_id,
                lambda c: dunning.on_subscription_ended(c, status, event_created) if c else None,
            )
            if changed and after is not None:
                closed.append(after)
        return closed

    def run_job(self, now: int) -> JobSummary:
        """The ``dunning`` job: a reminder before each retry, a final notice when none is
        left, any email still pending from an earlier crash, and any that found no address
        before (the customer's email may have arrived since)."""
        summary = JobSummary()
        for listed in self._cases.open_cases():
            summary.open_cases += 1
            case, decided = self._decide_due_email(listed.invoice_id, now)
            if decided == "reminder":
                summary.reminders += 1
            elif decided == "final_notice":
                summary.final_notices += 1
            if case is not None:
                delivery = self._deliver(case, retry_unaddressed=True)
                summary.emails_sent += delivery.sent
                summary.no_address += delivery.no_address
        return summary

    def _decide_due_email(
        self, invoice_id: str, now: int
    ) -> tuple[DunningCase | None, EmailKind | None]:
        """Record the email due at ``now``, decided on the case as stored (not as the
        eventually consistent listing saw it); the case and the kind this call decided."""
        decided: list[EmailKind] = []

        def decide(current: DunningCase | None) -> DunningCase | None:
            due = dunning.due_email(current, now) if current else None
            if current is None or due is None:
                return None
            decided[:] = [due[1].kind]
            return dunning.with_email(current, *due)

        case, changed = self._update(invoice_id, decide)
        return case, decided[0] if changed else None

    def _deliver(self, case: DunningCase, retry_unaddressed: bool = False) -> Delivery:
        delivery = Delivery()
        if case.status != "open":
            return delivery
        for key, email in dunning.pending_emails(case, retry_unaddressed):
            delivery.add(self._send(case, key, email))
        return delivery

    def _send(self, case: DunningCase, key: str, email: EmailRecord) -> Delivery:
        address = self._recipients.email_of(case.customer) if case.customer else None
        if address is None:
            self._update(
                case.invoice_id,
                lambda c: dunning.settle_email(c, key, "no_address", self._clock()) if c else None,
            )
            return Delivery(no_address=1)
        message_id = self._mailer.send(email.kind, address, dunning.template_data(case, email))
        self._update(
            case.invoice_id,
            lambda c: (
                dunning.settle_email(c, key, "sent", self._clock(), message_id) if c else None
            ),
        )
        return Delivery(sent=1)

    def _update(
        self, invoice_id: str, change: Callable[[DunningCase | None], DunningCase | None]
    ) -> tuple[DunningCase | None, bool]:
        """Apply ``change`` to the stored case until the write wins: the case as it now
        stands, and whether this call changed it."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = self._cases.get(invoice_id)
            changed = change(current)
            if changed is None:
                return current, False
            expected = current.revision if current else None
            if self._cases.save(changed, expected, previous=current):
                return changed, True
        raise ConcurrentUpdate(f"dunning case {invoice_id} kept changing; retry later")
