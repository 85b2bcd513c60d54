"""Consent records under moto: the privacy API in process, its store, the table as stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_billing_api import key_for

CUSTOMER = "cus_ConsentAda1"
PROOF = "Ada ticked 'Send me product news' on https://example.com/signup from 203.0.113.24"


def forget_privacy_caches() -> None:
    import privacy.handlers.consents_wiring
    import privacy.settings

    privacy.settings.api_settings.cache_clear()
    privacy.handlers.consents_wiring.consent_store.cache_clear()


@pytest.fixture(autouse=True)
def fresh_privacy(aws: Aws) -> Iterator[None]:
    forget_privacy_caches()
    yield
    forget_privacy_caches()


def call(
    context: LambdaContext,
    method: str,
    key: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    from privacy.handlers.api import lambda_handler

    sent = {"content-type": "application/json", "authorization": f"Bearer {key}", **(headers or {})}
    raw = None if body is None else json.dumps(body)
    event = http_event(method, "/v1/privacy/consents", body=raw, headers=sent, query=query)
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response.get("body") or "null")


def consent(granted: bool = True, purpose: str = "marketing_email", **more: Any) -> dict[str, Any]:
    return {
        "subject": {"customer_id": CUSTOMER},
        "purpose": purpose,
        "granted": granted,
        "notice_version": "2026-01",
        "method": "web_form",
        **more,
    }


def raw_items(aws: Aws) -> list[dict[str, Any]]:
    return list(aws.table("privacy").scan(ConsistentRead=True)["Items"])


def audit_actions(aws: Aws, tenant: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    table = aws.table("audit")
    items = table.query(KeyConditionExpression=Key("pk").eq(f"tenant:{tenant}"))["Items"]
    return [item for item in items if item["action"] == "privacy.consent.recorded"]


def test_a_record_is_stored_as_answered_with_its_proof_sealed_and_audited(
    aws: Aws, context: LambdaContext
) -> None:
    status, record = call(context, "POST", aws.admin_key, consent(proof=PROOF))

    assert status == 201, record
    assert record["subject"] == {"customer_id": CUSTOMER}
    assert (record["purpose"], record["granted"], record["proof"]) == (
        "marketing_email",
        True,
        PROOF,
    )
    [item] = raw_items(aws)
    assert (item["pk"], item["sk"]) == (
        f"CONSENT#{CUSTOMER}",
        f"{record['time']}#{record['consent_id']}",
    )
    assert "203.0.113.24" not in json.dumps(item, default=str)
    assert str(item["proof_sealed"]).startswith("v1.")
    [entry] = audit_actions(aws, CUSTOMER)
    assert entry["details"] == {
        "consent_id": record["consent_id"],
        "purpose": "marketing_email",
        "granted": True,
        "notice_version": "2026-01",
        "method": "web_form",
    }


def test_grant_withdraw_and_regrant_read_back_in_order_with_the_latest_current(
    aws: Aws, context: LambdaContext
) -> None:
    for body in (consent(True), consent(True, "product_analytics"), consent(False), consent(True)):
        assert call(context, "POST", aws.admin_key, body)[0] == 201

    status, view = call(context, "GET", aws.admin_key, query={"customer_id": CUSTOMER})

    assert status == 200
    history = view["history"]
    assert [(h["purpose"], h["granted"]) for h in history] == [
        ("marketing_email", True),
        ("product_analytics", True),
        ("marketing_email", False),
        ("marketing_email", True),
    ]
    assert [h["time"] for h in history] == sorted(h["time"] for h in history)
    assert view["current"] == {
        "marketing_email": {
            "granted": True,
            "notice_version": "2026-01",
            "time": history[3]["time"],
        },
        "product_analytics": {
            "granted": True,
            "notice_version": "2026-01",
            "time": history[1]["time"],
        },
    }


def test_an_idempotency_key_sent_again_answers_the_first_record_and_records_nothing(
    aws: Aws, context: LambdaContext
) -> None:
    key = {"idempotency-key": "5f0c6a34-3b4e-4d2e-9a1c-0d5e8f7b2a61"}
    first = call(context, "POST", aws.admin_key, consent(proof=PROOF), headers=key)
    again = call(context, "POST", aws.admin_key, consent(proof=PROOF), headers=key)
    other = call(context, "POST", aws.admin_key, consent(False), headers=key)
    unkeyed = [call(context, "POST", aws.admin_key, consent())[0] for _ in range(2)]

    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    assert other[0] == 422 and "Idempotency-Key" in other[1]["message"]
    assert unkeyed == [201, 201]
    _, view = call(context, "GET", aws.admin_key, query={"customer_id": CUSTOMER})
    assert len(view["history"]) == 3
    assert len(audit_actions(aws, CUSTOMER)) == 3
    assert "5f0c6a34" not in json.dumps(raw_items(aws), default=str)


def test_an_erased_subject_keeps_its_records_without_the_proof(
    aws: Aws, context: LambdaContext
) -> None:
    from cognitionos.crypto import subject_keyring

    call(context, "POST", aws.admin_key, consent(True, proof=PROOF))
    call(context, "POST", aws.admin_key, consent(False, proof="withdrew by email"))
    subject_keyring().destroy(CUSTOMER)

    _, view = call(context, "GET", aws.admin_key, query={"customer_id": CUSTOMER})
    late = call(context, "POST", aws.admin_key, consent(True, proof="after the erasure"))

    assert [(h["granted"], h["proof"]) for h in view["history"]] == [(True, None), (False, None)]
    assert view["current"]["marketing_email"]["granted"] is False
    assert late[0] == 201 and late[1]["proof"] is None
    assert "after the erasure" not in json.dumps(raw_items(aws), default=str)


def test_a_bound_key_records_and_reads_only_its_own_customer(
    aws: Aws, context: LambdaContext
) -> None:
    own = key_for(aws, context, ["privacy:manage"], CUSTOMER)
    other = key_for(aws, context, ["privacy:manage"], "cus_SomeoneElse")

    assert call(context, "POST", own, consent())[0] == 201
    assert call(context, "POST", other, consent())[0] == 403
    assert call(context, "GET", other, query={"customer_id": CUSTOMER})[0] == 403
    status, mine = call(context, "GET", own)
    _, theirs = call(context, "GET", other)

    assert status == 200 and len(mine["history"]) == 1
    assert theirs == {"subject": {"customer_id": "cus_SomeoneElse"}, "current": {}, "history": []}
    assert call(context, "GET", aws.admin_key)[0] == 422  # an operator names the customer


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "Marketing Email"},
        {"purpose": "x"},
        {"notice_version": ""},
        {"method": "carrier_pigeon"},
        {"granted": "yes"},
        {"granted": 1},
        {"subject": {"customer_id": "cus_A", "email": "ada@example.com"}},
        {"subject": {"email": "ada@example.com"}},
        {"ip_address": "203.0.113.24"},
        {"proof": ""},
    ],
)
def test_a_body_that_breaks_a_rule_is_refused_and_stores_nothing(
    aws: Aws, context: LambdaContext, change: dict[str, Any]
) -> None:
    status, answer = call(context, "POST", aws.admin_key, {**consent(), **change})

    assert status == 422, answer
    assert answer["errors"]
    assert raw_items(aws) == []


def test_a_malformed_idempotency_key_is_refused(aws: Aws, context: LambdaContext) -> None:
    status, answer = call(
        context, "POST", aws.admin_key, consent(), headers={"idempotency-key": "not a key!"}
    )

    assert status == 422, answer
    assert raw_items(aws) == []


def test_the_store_reads_history_in_time_order_whatever_order_it_was_written_in(
    aws: Aws,
) -> None:
    from datetime import UTC, datetime, timedelta

    from privacy.dal.consents import ConsentStore
    from privacy.logic.consents import ConsentRecord, record_time

    from cognitionos.audit.store import audit_log
    from cognitionos.crypto import subject_keyring

    store = ConsentStore(aws.table("privacy"), subject_keyring(), audit_log())
    start = datetime(2026, 3, 1, tzinfo=UTC)
    offsets_us = [5, 0, 1_000_000, 3, 999_999, 4]  # written out of order, across a second
    for n, offset in enumerate(offsets_us):
        store.record(
            ConsentRecord(
                consent_id=f"con_{n:032x}",
                customer_id=CUSTOMER,
                purpose="marketing_email",
                granted=n % 2 == 0,
                notice_version="2026-01",
                method="api",
                time=record_time(start + timedelta(microseconds=offset)),
                proof=f"record {n}",
            ),
            actor="test",
        )

    history = store.history(CUSTOMER)

    assert [r.consent_id for r in history] == [
        f"con_{n:032x}" for n, _ in sorted(enumerate(offsets_us), key=lambda p: p[1])
    ]
    assert [r.proof for r in history] == [f"record {r.consent_id[-1]}" for r in history]
    assert len(audit_actions(aws, CUSTOMER)) == len(offsets_us)


def _record(n: int) -> Any:
    from privacy.logic.consents import ConsentRecord

    return ConsentRecord(
        f"con_{n:032x}", CUSTOMER, "marketing_email", True, "2026-01", "api",
        f"2026-03-01T00:00:0{n}.000000Z",
    )  # fmt: skip


def test_a_key_past_its_day_makes_a_new_record_even_before_ttl_removes_it(aws: Aws) -> None:
    from privacy.dal.consents import ConsentStore, Idempotency
    from privacy.logic.consents import IDEMPOTENCY_WINDOW_S

    from cognitionos.audit.store import audit_log
    from cognitionos.crypto import subject_keyring

    store = ConsentStore(aws.table("privacy"), subject_keyring(), audit_log())
    day_one = 1_790_000_000

    first = store.record(_record(1), actor="t", idempotency=Idempotency("d", "f", day_one))
    same_day = store.record(_record(2), actor="t", idempotency=Idempotency("d", "f", day_one + 60))
    next_day = store.record(
        _record(3), actor="t", idempotency=Idempotency("d", "f", day_one + IDEMPOTENCY_WINDOW_S + 1)
    )

    assert same_day == first
    assert next_day.consent_id == _record(3).consent_id
    assert [r.consent_id for r in store.history(CUSTOMER)] == [
        first.consent_id,
        next_day.consent_id,
    ]


def test_a_key_being_written_by_another_request_is_a_409(aws: Aws) -> None:
    from botocore.exceptions import ClientError
    from privacy.dal.consents import ConsentStore, Idempotency

    from cognitionos.audit.store import audit_log
    from cognitionos.crypto import subject_keyring
    from cognitionos.errors import Conflict

    class RacedAudit:
        """The transaction DynamoDB cancels when another one holds the key's item."""

        def draft(self, *args: Any, **kwargs: Any) -> Any:
            return audit_log().draft(*args, **kwargs)

        def commit_with(self, items: Any, drafts: Any) -> Any:
            reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                "TransactWriteItems",
            )

    store = ConsentStore(aws.table("privacy"), subject_keyring(), RacedAudit())  # type: ignore[arg-type]

    with pytest.raises(Conflict):
        store.record(_record(1), actor="t", idempotency=Idempotency("d", "f", 1_790_000_000))
