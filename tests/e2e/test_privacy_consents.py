"""Consent records through the local runner: grant, withdraw, re-grant; what the table holds;
who may record and read them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PATH = "/v1/privacy/consents"
PROOF = "Ada Lovelace <ada@example.com> ticked 'Product news' at https://example.com/signup"


def new_customer() -> str:
    return f"cus_consent{uuid.uuid4().hex[:12]}"


def consent(customer: str, granted: bool, notice: str = "2026-01", **more: Any) -> dict[str, Any]:
    return {
        "subject": {"customer_id": customer},
        "purpose": "marketing_email",
        "granted": granted,
        "notice_version": notice,
        "method": "web_form",
        **more,
    }


def bound_key(runner: Any, customer: str) -> str:
    made = runner.post(
        "/v1/api-keys",
        json={"name": "consents", "scopes": ["privacy:manage"], "tenant_id": customer},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["key"])


def privacy_table(runner: Any) -> str:
    names = runner.client("dynamodb").list_tables()["TableNames"]
    (name,) = [n for n in names if n.endswith("-privacy")]
    return str(name)


def test_grant_withdraw_and_regrant_give_the_history_and_the_current_state(runner: Any) -> None:
    customer = new_customer()
    steps = [
        consent(customer, True, "2026-01", proof=PROOF),
        consent(customer, False, "2026-01", method="email", proof="Asked us to stop, ticket 4411"),
        consent(customer, True, "2026-02", method="in_app"),
    ]
    recorded = []
    for body in steps:
        answer = runner.post(PATH, json=body)
        assert answer.status_code == 201, answer.text
        recorded.append(answer.json())

    read = runner.get(PATH, params={"customer_id": customer})

    assert read.status_code == 200, read.text
    view = read.json()
    assert view["subject"] == {"customer_id": customer}
    assert [
        (h["purpose"], h["granted"], h["notice_version"], h["method"], h["time"])
        for h in view["history"]
    ] == [
        ("marketing_email", True, "2026-01", "web_form", recorded[0]["time"]),
        ("marketing_email", False, "2026-01", "email", recorded[1]["time"]),
        ("marketing_email", True, "2026-02", "in_app", recorded[2]["time"]),
    ]
    assert view["current"] == {
        "marketing_email": {
            "granted": True,
            "notice_version": "2026-02",
            "time": recorded[2]["time"],
        }
    }
    assert view["history"][0]["proof"] == PROOF


def test_the_privacy_table_holds_no_plaintext_of_a_sealed_field(runner: Any) -> None:
    customer = new_customer()
    assert runner.post(PATH, json=consent(customer, True, proof=PROOF)).status_code == 201

    items = runner.client("dynamodb").query(
        TableName=privacy_table(runner),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CONSENT#{customer}"}},
        ConsistentRead=True,
    )["Items"]

    raw = json.dumps(items)
    assert len(items) == 1
    assert items[0]["purpose"] == {"S": "marketing_email"}  # the proof of consent stays plain
    for fragment in ("Ada Lovelace", "ada@example.com", "example.com/signup", "Product news"):
        assert fragment not in raw


def test_a_retry_with_the_same_idempotency_key_records_once(runner: Any) -> None:
    customer = new_customer()
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = runner.post(PATH, json=consent(customer, True), headers=headers)
    retry = runner.post(PATH, json=consent(customer, True), headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert len(runner.get(PATH, params={"customer_id": customer}).json()["history"]) == 1


def test_another_tenants_key_is_refused_and_its_own_is_served(runner: Any) -> None:
    customer, other = new_customer(), new_customer()
    own_key, other_key = bound_key(runner, customer), bound_key(runner, other)
    assert runner.post(PATH, key=own_key, json=consent(customer, True)).status_code == 201

    foreign_write = runner.post(PATH, key=other_key, json=consent(customer, False))
    foreign_read = runner.get(PATH, key=other_key, params={"customer_id": customer})
    own_read = runner.get(PATH, key=own_key)

    assert foreign_write.status_code == 403, foreign_write.text
    assert foreign_read.status_code == 403, foreign_read.text
    assert customer not in foreign_read.text
    assert own_read.status_code == 200
    assert [h["granted"] for h in own_read.json()["history"]] == [True]  # the refused one: absent
    assert runner.post(PATH, key=None, json=consent(customer, True)).status_code == 401


def test_a_subject_with_no_record_has_empty_consents(runner: Any) -> None:
    customer = new_customer()

    read = runner.get(PATH, params={"customer_id": customer})

    assert read.status_code == 200
    assert read.json() == {"subject": {"customer_id": customer}, "current": {}, "history": []}
