"""Plaintext personal data is found where it is, and nothing else the stores hold looks like
it: Stripe ids, timestamps, amounts, hashes, UUIDs and sealed ``v1.`` tokens give nothing."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from privacy.logic.compliance import ComplianceReport
from privacy.logic.pii_patterns import (
    NO_NAMES,
    KnownNames,
    findings_in_record,
    redact_email,
    redact_name,
    redact_phone,
)


def kinds(text: str, names: KnownNames = NO_NAMES) -> list[str]:
    return [f.kind for f in findings_in_record("table:t", "{}", text, names)]


@pytest.mark.parametrize(
    "value",
    [
        "jenny.rosen@example.com",
        "Contact: Jenny.Rosen+billing@mail.example.co.uk, thanks",
        "a@b.io",
        "<ops_team@corp-mail.example.org>",
    ],
)
def test_an_email_in_plaintext_is_found(value: str) -> None:
    assert kinds(json.dumps({"note": value})) == ["email"]


@pytest.mark.parametrize(
    "value",
    [
        "+14155550123",
        "+1 415 555 0123",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+33 6 12 34 56 78",
        "call (415) 555-0123 after six",
        "415-555-0123",
        "415.555.0123",
        "020 7946 0958",
        "06 12 34 56 78",
    ],
)
def test_a_phone_number_in_plaintext_is_found(value: str) -> None:
    assert kinds(json.dumps({"phone": value})) == ["phone"]


def _token() -> str:
    return "v1." + base64.urlsafe_b64encode(os.urandom(40)).decode().rstrip("=")


# What a clean store holds: none of it is personal data.
CLEAN_VALUES = [
    "cus_QxZ7Lh2nE3vT1a",
    "sub_1R1prgCq8mTn4vKetWC3D1Wj",
    "in_1R1prgCq8mTn4vKe0123456789",
    "evt_1R1prgCq8mTn4vKe5551234567",
    "price_1R1J3GCq8mTn4vKeojLtU46V",
    "pi_3R1J3GCq8mTn4vKe1a2b3c4d",
    "1714500000",
    "1714500000#evt_1R1prgCq8mTn4vKe",
    "2025-05-04T00:15:00Z",
    "2025-05-04T00:15:00+00:00",
    "2025-05-04 00:15:00",
    "2025-05-04",
    "04.05.2025",
    "05/04/2025",
    "000000000012",
    "12345.67",
    "1,234,567.89",
    "1 234 567 890",
    "1.234.567.890",
    "3f1b7c2e-8a4d-4c6f-9e2b-5d7a1c0e4b93",
    "12345678-1234-1234-1234-123456789012",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "9f86d081884c7d659a2feaa0c55ad015",
    "192.168.100.200",
    "203.0.113.42",
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:scheduler:us-east-1:123456789012:schedule/default/audit-anchor",
    "https://sqs.us-east-1.amazonaws.com/123456789012/CognitionOS-billing-events.fifo",
    "cos_a1b2c3d4e5f6a7b8_0123456789abcdefghijABCDEFGHIJ_-0123456789ab",
    "queue.billing-events.dlq_depth",
    "2025-03-31.basil",
    "gauge#tenant_id=cus_1",
    "AGENT#run_0f8fad5bd9cb469fa16570867728950e",
    "1.2.3",
    "v2 of 2025",
]


@pytest.mark.parametrize("value", CLEAN_VALUES)
def test_what_a_clean_store_holds_gives_no_finding(value: str) -> None:
    assert kinds(json.dumps({"value": value})) == []


def test_sealed_tokens_give_no_finding_whatever_their_bytes() -> None:
    item = {"email_enc": _token(), "name_enc": _token(), "phone_enc": _token()}
    for _ in range(200):
        assert kinds(json.dumps(item | {"x": _token()})) == []


@given(st.binary(min_size=30, max_size=200))
def test_binary_stored_as_base64_gives_no_finding(blob: bytes) -> None:
    wrapped = base64.b64encode(blob).decode()
    assert kinds(json.dumps({"wrapped_key": wrapped})) == []


def test_a_phone_number_in_a_base64_blob_is_no_finding() -> None:
    wrapped = "AQIDAHh" + "/+14155550123/" + "A" * 40
    assert kinds(json.dumps({"wrapped_key": wrapped})) == []


@given(st.integers(min_value=0, max_value=10**15))
def test_no_bare_number_is_a_phone_number(number: int) -> None:
    assert kinds(json.dumps({"amount": number, "text": str(number)})) == []


@given(st.datetimes())
def test_no_timestamp_is_a_phone_number(moment: object) -> None:
    assert kinds(json.dumps({"at": str(moment), "iso": moment.isoformat()})) == []  # type: ignore[attr-defined]


def test_a_known_subjects_name_is_found_whatever_its_case_and_only_as_whole_words() -> None:
    names = KnownNames.of(["Jenny Rosen", "Li", "Anna"])
    assert kinds(json.dumps({"note": "spoke to JENNY  rosen today"}), names) == ["name"]
    assert kinds(json.dumps({"note": "annabel"}), names) == []  # a longer word
    assert kinds(json.dumps({"note": "Anna called"}), names) == ["name"]
    assert kinds(json.dumps({"note": "Li"}), names) == []  # too short to look for


def test_a_finding_names_where_it_is_and_never_the_value() -> None:
    text = json.dumps({"pk": "X", "data": {"contacts": [{"mail": "jenny.rosen@example.com"}]}})
    (finding,) = findings_in_record("table:billing", '{"pk": "X"}', text)
    assert finding.as_dict() == {
        "store": "table:billing",
        "key": '{"pk": "X"}',
        "path": "$.data.contacts[0].mail",
        "kind": "email",
        "sample": "j***@e***.com",
    }
    assert "jenny" not in json.dumps(finding.as_dict())


def test_a_payload_stored_as_a_json_string_is_walked_too() -> None:
    text = json.dumps({"body": json.dumps({"customer": {"phone": "+1 415 555 0123"}})})
    (finding,) = findings_in_record("bucket:event-bodies", "evt_1", text)
    assert (finding.path, finding.kind) == ("$.body.customer.phone", "phone")


def test_an_object_that_is_not_json_is_searched_as_text() -> None:
    (finding,) = findings_in_record("bucket:b", "notes.txt", "write to ada@example.com")
    assert (finding.path, finding.sample) == ("$", "a***@e***.com")


def test_samples_are_redacted() -> None:
    assert redact_email("ada.lovelace@example.com") == "a***@e***.com"
    assert redact_phone("+1 415 555 0123") == "+* *** *** **23"
    assert redact_name("Jenny Rosen") == "J*** R***"


def test_a_report_counts_by_kind_and_lists_settings_last() -> None:
    report = ComplianceReport(KnownNames.of(["Jenny Rosen"]))
    report.scan("table:a", "k1", json.dumps({"e": "a@b.io", "n": "Jenny Rosen"}))
    report.scan("table:a", "k2", json.dumps({"ok": "cus_1"}))
    summary = report.summary()
    assert {k: summary[k] for k in ("findings", "email_findings", "name_findings")} == {
        "findings": 2,
        "email_findings": 1,
        "name_findings": 1,
    }
    assert (summary["records_scanned"], summary["stores_scanned"]) == (2, 1)
    assert "Jenny" not in json.dumps(summary) and "a@b.io" not in json.dumps(summary)
