"""Consent rules: current state is the latest record per purpose, history is every record in
order, whatever order the records are read in; and the request rules the API enforces."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from privacy.logic.consents import (
    METHODS,
    ConsentRecord,
    current_of,
    history_of,
    idempotency_digest,
    record_time,
    request_fingerprint,
)
from privacy.models.consents import RecordConsentBody
from pydantic import ValidationError

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PURPOSES = ("marketing_email", "product_analytics", "partner_sharing")


@st.composite
def interleavings(draw: st.DrawFn) -> list[ConsentRecord]:
    """Grants and withdrawals of a few purposes, some in the same microsecond, shuffled."""
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(PURPOSES), st.booleans(), st.integers(0, 3)),
            max_size=30,
        )
    )
    records, offset = [], 0
    for n, (purpose, granted, gap_us) in enumerate(steps):
        offset += gap_us  # 0: the same microsecond as the one before
        records.append(
            ConsentRecord(
                consent_id=f"con_{n:032x}",
                customer_id="cus_A",
                purpose=purpose,
                granted=granted,
                notice_version=f"v{n}",
                method="web_form",
                time=record_time(START + timedelta(microseconds=offset)),
            )
        )
    return draw(st.permutations(records))


@given(interleavings())
def test_current_is_the_latest_record_of_each_purpose(records: list[ConsentRecord]) -> None:
    history = history_of(records)
    expected = {}
    for record in history:  # replayed oldest first: the last word on a purpose wins
        expected[record.purpose] = (record.granted, record.notice_version, record.time)

    current = current_of(records)

    assert {p: (c.granted, c.notice_version, c.time) for p, c in current.items()} == expected


@given(interleavings())
def test_history_holds_every_record_once_oldest_first(records: list[ConsentRecord]) -> None:
    history = history_of(records)

    assert sorted(history, key=lambda r: r.consent_id) == sorted(
        records, key=lambda r: r.consent_id
    )
    assert [r.order for r in history] == sorted(r.order for r in records)
    assert [r.sort_key for r in history] == sorted(r.sort_key for r in records)  # = a Query


def test_a_withdrawal_a_microsecond_after_the_grant_is_what_holds() -> None:
    grant = ConsentRecord(
        "con_b", "cus_A", "marketing_email", True, "v1", "api", record_time(START)
    )
    withdraw = ConsentRecord(
        "con_a", "cus_A", "marketing_email", False, "v1", "api",
        record_time(START + timedelta(microseconds=1)),
    )  # fmt: skip

    assert current_of([withdraw, grant])["marketing_email"].granted is False
    assert history_of([withdraw, grant]) == [grant, withdraw]


def test_record_times_sort_as_text_in_time_order() -> None:
    times = [START + timedelta(microseconds=n) for n in (0, 1, 999_999, 1_000_000)]

    assert [record_time(t) for t in times] == sorted(record_time(t) for t in times)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record_time(START))


def test_digests_are_keyed_and_bound_to_the_customer() -> None:
    a = idempotency_digest(b"secret", "cus_A", "key-1")

    assert a == idempotency_digest(b"secret", "cus_A", "key-1")
    assert a != idempotency_digest(b"other", "cus_A", "key-1")
    assert a != idempotency_digest(b"secret", "cus_B", "key-1")
    assert "key-1" not in a
    assert request_fingerprint(b"s", {"granted": True}) != request_fingerprint(
        b"s", {"granted": False}
    )


VALID = {
    "subject": {"customer_id": "cus_A"},
    "purpose": "marketing_email",
    "granted": True,
    "notice_version": "2026-01",
    "method": "web_form",
}


@pytest.mark.parametrize("method", METHODS)
def test_every_documented_method_is_accepted(method: str) -> None:
    assert RecordConsentBody.model_validate({**VALID, "method": method}).method == method


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "marketing-email"},
        {"purpose": "_marketing"},
        {"purpose": "m" * 65},
        {"notice_version": ""},
        {"notice_version": " v1"},
        {"method": "sms"},
        {"granted": None},
        {"granted": "true"},
        {"subject": {"customer_id": "ada@example.com"}},
        {"extra": 1},
        {"proof": "x" * 2001},
    ],
)
def test_a_request_breaking_a_rule_is_invalid(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RecordConsentBody.model_validate({**VALID, **change})
