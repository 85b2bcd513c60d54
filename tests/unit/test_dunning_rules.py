"""Dunning rules: opening, advancing and closing cases, and which email is due when."""

from __future__ import annotations

from typing import Any

import pytest

from billing.logic import dunning
from billing.logic.dunning import DunningCase, InvalidInvoice, read_invoice
from tests import factories

T0 = 1_746_097_207  # 2025-05-01 11:00:07 UTC
DAY = 86_400


def failed_invoice(
    attempt: int = 1,
    next_attempt: int | None = T0 + 3 * DAY,
    billing_reason: str = "subscription_cycle",
    invoice_id: str = "in_1",
) -> dunning.Invoice:
    raw: dict[str, Any] = factories.invoice(invoice_id=invoice_id, status="open")
    raw |= {
        "attempt_count": attempt,
        "next_payment_attempt": next_attempt,
        "billing_reason": billing_reason,
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_abc",
    }
    return read_invoice(raw)


def opened(attempt: int = 1, next_attempt: int | None = T0 + 3 * DAY) -> DunningCase:
    case = dunning.on_payment_failed(None, failed_invoice(attempt, next_attempt), T0, "past_due")
    assert case is not None
    return case


def test_a_failed_renewal_opens_a_case_with_a_payment_failed_email_to_send() -> None:
    case = opened()
    assert (case.status, case.attempt_count, case.next_attempt_at) == ("open", 1, T0 + 3 * DAY)
    assert (case.customer, case.subscription, case.amount_due, case.currency) == (
        "cus_1",
        "sub_1",
        2000,
        "usd",
    )
    assert case.opened_at == T0 and case.listed
    assert [(k, e.kind, e.status) for k, e in case.emails.items()] == [
        ("payment_failed#1", "payment_failed", "pending")
    ]


def test_a_later_attempt_advances_the_case_and_decides_one_more_email() -> None:
    later = failed_invoice(attempt=2, next_attempt=T0 + 8 * DAY)
    case = dunning.on_payment_failed(opened(), later, T0 + 3 * DAY, "past_due")
    assert case is not None
    assert (case.attempt_count, case.next_attempt_at, case.version) == (
        2,
        T0 + 8 * DAY,
        T0 + 3 * DAY,
    )
    assert sorted(case.emails) == ["payment_failed#1", "payment_failed#2"]


@pytest.mark.parametrize("attempt", [1, 0])
def test_the_same_or_an_older_attempt_changes_nothing(attempt: int) -> None:
    case = opened()
    assert dunning.on_payment_failed(case, failed_invoice(attempt), T0 + 60, "past_due") is None


def test_an_attempt_arriving_after_a_newer_one_only_dates_the_case_from_it() -> None:
    third = dunning.on_payment_failed(None, failed_invoice(3), T0 + 9 * DAY, "past_due")
    assert third is not None
    second = dunning.on_payment_failed(third, failed_invoice(2), T0 + 3 * DAY, "past_due")
    assert second is not None
    assert (second.opened_at, second.attempt_count) == (T0 + 3 * DAY, 3)
    assert second.emails == third.emails  # no email for an attempt already past
    assert dunning.on_payment_failed(second, failed_invoice(2), T0 + 3 * DAY, "past_due") is None


@pytest.mark.parametrize("status", ["incomplete", None, "incomplete_expired"])
def test_the_first_invoice_of_an_unstarted_subscription_is_not_dunning(status: str | None) -> None:
    first = failed_invoice(billing_reason="subscription_create")
    assert dunning.on_payment_failed(None, first, T0, status) is None


def test_the_first_invoice_of_an_active_subscription_is_dunning() -> None:
    first = failed_invoice(billing_reason="subscription_create")
    case = dunning.on_payment_failed(None, first, T0, "past_due")
    assert case is not None and case.status == "open"


def test_a_failure_for_a_subscription_that_already_ended_is_recorded_exhausted_without_email() -> (
    None
):
    case = dunning.on_payment_failed(None, failed_invoice(4, None), T0, "unpaid")
    assert case is not None
    assert (case.status, case.closed_reason, case.emails) == (
        "exhausted",
        "subscription_unpaid",
        {},
    )


def test_payment_recovers_an_open_case_and_skips_its_unsent_email() -> None:
    case = dunning.on_invoice_closed(opened(), failed_invoice(2), T0 + 3 * DAY, "paid")
    assert case is not None
    assert (case.status, case.closed_reason, case.closed_at) == (
        "recovered",
        "invoice_paid",
        T0 + 3 * DAY,
    )
    assert case.next_attempt_at is None
    assert case.emails["payment_failed#1"].status == "skipped"


def test_a_payment_failure_older_than_the_payment_does_not_reopen_the_case() -> None:
    recovered = dunning.on_invoice_closed(opened(), failed_invoice(2), T0 + 3 * DAY, "paid")
    assert recovered is not None
    late = dunning.on_payment_failed(recovered, failed_invoice(2), T0 + 2 * DAY, "past_due")
    # Recorded as in-order delivery would have (two attempts), still recovered, no email.
    assert late is not None
    assert (late.status, late.attempt_count, late.emails) == ("recovered", 2, recovered.emails)


def test_a_payment_before_its_failure_ends_listed_as_recovered_as_in_order_with_no_email() -> None:
    tombstone = dunning.on_invoice_closed(None, failed_invoice(2), T0 + 3 * DAY, "paid")
    assert tombstone is not None
    assert (tombstone.status, tombstone.listed) == ("recovered", False)

    late = dunning.on_payment_failed(tombstone, failed_invoice(1), T0, "past_due")

    assert late is not None
    assert (late.status, late.listed, late.opened_at, late.attempt_count) == (
        "recovered",
        True,
        T0,
        2,
    )
    assert late.emails == {}
    # The same failure again, or one after the payment, changes nothing.
    assert dunning.on_payment_failed(late, failed_invoice(1), T0, "past_due") is None
    assert dunning.on_payment_failed(late, failed_invoice(3), T0 + 4 * DAY, "active") is None


def test_an_uncollectible_invoice_paid_after_all_is_recovered() -> None:
    exhausted = dunning.on_invoice_closed(opened(), failed_invoice(), T0 + DAY, "uncollectible")
    assert exhausted is not None
    paid = dunning.on_invoice_closed(exhausted, failed_invoice(), T0 + 2 * DAY, "paid")
    assert paid is not None and paid.status == "recovered"
    assert dunning.on_invoice_closed(paid, failed_invoice(), T0 + 3 * DAY, "voided") is None


@pytest.mark.parametrize("status", ["unpaid", "canceled"])
def test_a_subscription_ending_exhausts_its_open_case_as_involuntary_churn(status: str) -> None:
    case = dunning.on_subscription_ended(opened(), status, T0 + 14 * DAY)
    assert case is not None
    assert (case.status, case.churn, case.closed_reason) == (
        "exhausted",
        "involuntary",
        f"subscription_{status}",
    )


def test_a_subscription_status_older_than_the_latest_failure_keeps_the_case_open() -> None:
    assert dunning.on_subscription_ended(opened(), "unpaid", T0 - 60) is None
    assert dunning.on_subscription_ended(opened(), "active", T0 + DAY) is None


def test_a_reminder_is_due_once_within_a_day_before_the_next_retry() -> None:
    case = opened(next_attempt=T0 + 3 * DAY)
    assert dunning.due_email(case, T0 + DAY) is None  # two days early
    due = dunning.due_email(case, T0 + 2 * DAY + 3600)
    assert due is not None
    key, record = due
    assert (key, record.kind, record.next_attempt_at) == (
        f"reminder#{T0 + 3 * DAY}",
        "reminder",
        T0 + 3 * DAY,
    )
    reminded = dunning.with_email(case, key, record)
    assert reminded is not None
    assert dunning.due_email(reminded, T0 + 2 * DAY + 7200) is None
    assert dunning.due_email(case, T0 + 3 * DAY) is None  # the retry is due: too late


def test_a_final_notice_is_due_once_when_no_retry_is_scheduled() -> None:
    case = opened(attempt=4, next_attempt=None)
    due = dunning.due_email(case, T0 + 60)
    assert due is not None and due[1].kind == "final_notice"
    noticed = dunning.with_email(case, *due)
    assert noticed is not None and dunning.due_email(noticed, T0 + 7 * DAY) is None


def test_no_email_is_due_for_a_closed_case() -> None:
    closed = dunning.on_invoice_closed(opened(next_attempt=None), failed_invoice(), T0, "paid")
    assert closed is not None and dunning.due_email(closed, T0 + 60) is None


def test_settling_an_email_twice_changes_nothing() -> None:
    case = opened()
    sent = dunning.settle_email(case, "payment_failed#1", "sent", T0 + 5, "msg-1")
    assert sent is not None and sent.emails["payment_failed#1"].sent_at == T0 + 5
    assert dunning.settle_email(sent, "payment_failed#1", "sent", T0 + 9, "msg-2") is None


def test_template_data_carries_link_amount_attempt_and_next_attempt_but_no_personal_data() -> None:
    case = opened(next_attempt=1_746_370_800)  # 2025-05-04 15:00 UTC
    data = dunning.template_data(case, case.emails["payment_failed#1"])
    assert data == {
        "invoice_url": "https://invoice.stripe.com/i/acct_1/test_abc",
        "amount": "20.00",
        "currency": "USD",
        "attempt": "1",
        "next_attempt": "2025-05-04 15:00 UTC",
    }


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [(6000, "usd", "60.00"), (5, "eur", "0.05"), (500, "jpy", "500")],
)
def test_amounts_are_shown_in_major_units(minor: int, currency: str, shown: str) -> None:
    assert dunning.format_amount(minor, currency) == shown


def test_an_invoice_without_an_id_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidInvoice, match="no id"):
        read_invoice({"object": "invoice"})


def test_the_older_invoice_shape_links_its_subscription_directly() -> None:
    raw = factories.invoice() | {"parent": None, "subscription": "sub_old"}
    assert read_invoice(raw).subscription == "sub_old"
