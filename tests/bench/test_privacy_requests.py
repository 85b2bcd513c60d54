"""GDPR export and erasure of a subject with 1,000 records, end to end through the privacy
worker under moto (request item, SQS record, every store, the S3 file; the erasure's
verification scan of every table and bucket), against a baseline timed in the same run: a
plain Query + Scan reading the same 1,000 records. Reported, never asserted on time."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.bench.conftest import report
from tests.factories import sqs_event
from tests.integration.conftest import Aws, LambdaContext, aws, context  # noqa: F401

SUBJECT = "cus_benchsubject"
RECORDS = {
    "invoices": 399,
    "payments": 200,
    "billing_events": 200,
    "agent_memory": 100,
    "usage": 100,
}
SUBJECT_RECORDS = 1 + sum(RECORDS.values())  # and the customer item: 1,000
OTHERS = 50  # other customers, 20 items each: the scan reads them too
BOUND_S = 1


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    from cognitionos.observability import logger

    level = logger.log_level
    logger.setLevel("WARNING")
    yield
    logger.setLevel(level)


def _populate(stores: Aws, customer_id: str, scale: dict[str, int]) -> None:
    from cognitionos.crypto import blind_index, blind_index_key, subject_keyring

    keyring = subject_keyring()
    billing, agents, usage = (stores.table(n) for n in ("billing", "agents", "usage"))
    email = f"{customer_id}@example.org"
    with billing.batch_writer() as batch:
        batch.put_item(
            Item={
                "pk": f"CUSTOMER#{customer_id}",
                "sk": "STATE",
                "kind": "customer",
                "id": customer_id,
                "customer_id": customer_id,
                "created": 1,
                "email_enc": keyring.encrypt(customer_id, "email", email),
                "name_enc": keyring.encrypt(customer_id, "name", f"Name {customer_id}"),
                "email_bidx": blind_index(email, blind_index_key()),
                "gsi3pk": f"CUSTOMER#{customer_id}",
                "gsi3sk": "CUSTOMER#" + customer_id,
            }
        )
        for kind, prefix, count in (
            ("invoice", "in", scale["invoices"]),
            ("charge", "ch", scale["payments"]),
        ):
            for n in range(count):
                object_id = f"{prefix}_{uuid.uuid4().hex[:16]}"
                batch.put_item(
                    Item={
                        "pk": f"{kind.upper()}#{object_id}",
                        "sk": "STATE",
                        "kind": kind,
                        "id": object_id,
                        "customer_id": customer_id,
                        "created": 1_700_000_000 + n,
                        "status": "paid",
                        "amount_due": 2000,
                        "currency": "usd",
                        "gsi3pk": f"CUSTOMER#{customer_id}",
                        "gsi3sk": f"{kind.upper()}#{object_id}",
                    }
                )
        for n in range(scale["billing_events"]):
            event_id = f"evt_{uuid.uuid4().hex[:20]}"
            batch.put_item(
                Item={
                    "pk": f"EVENT#{event_id}",
                    "sk": "EVENT",
                    "id": event_id,
                    "type": "invoice.paid",
                    "customer_id": customer_id,
                    "status": "processed",
                    "expires_at": 1_900_000_000,
                    "gsi3pk": f"CUSTOMER#{customer_id}",
                    "gsi3sk": f"EVENT#{n:011d}#{event_id}",
                }
            )
    with agents.batch_writer() as batch:
        for n in range(scale["agent_memory"]):
            batch.put_item(
                Item={
                    "pk": f"MEMORY#{customer_id}",
                    "sk": f"{n:011d}#run_{n}",
                    "text": keyring.encrypt(customer_id, "memory", f"fact {n}"),
                }
            )
    with usage.batch_writer() as batch:
        for n in range(scale["usage"]):
            batch.put_item(
                Item={
                    "usage_id": uuid.uuid4().hex,
                    "tenant": customer_id,
                    "meter": "tokens",
                    "value": Decimal(n),
                    "expires_at": 1_900_000_000,
                }
            )


def _request(kind: str) -> str:
    from privacy.handlers.requests_wiring import privacy_requests

    request_id = f"{kind[:3]}_{uuid.uuid4().hex}"
    privacy_requests()._table.put_item(
        Item={
            "pk": f"REQUEST#{request_id}",
            "sk": "REQUEST",
            "request_id": request_id,
            "kind": kind,
            "status": "pending",
            "phase": "queued",
            "subject_customer_id": SUBJECT,
            "subject_email_bidx": "",
            "tenant_id": "",
            "requested_by": "bench",
            "requested_at": "2026-12-03T15:00:00Z",
        }
    )
    return request_id


def _deliver(stores: Aws, lambda_context: LambdaContext, request_id: str) -> float:
    from privacy.handlers.worker import lambda_handler

    event = sqs_event(
        [json.dumps({"request_id": request_id})], stores.queue_arns["privacy-requests"]
    )
    started = time.perf_counter()
    assert lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    return time.perf_counter() - started


def _baseline(stores: Aws) -> tuple[float, int]:
    """The same records read plainly: one Query of the customer's gsi3 items, one of its
    memory, one filtered Scan of usage (pages followed), nothing decrypted or written."""
    from boto3.dynamodb.conditions import Attr, Key

    from cognitionos.dynamodb import all_items

    started = time.perf_counter()
    found = list(
        all_items(
            stores.table("billing").query,
            IndexName="gsi3",
            KeyConditionExpression=Key("gsi3pk").eq(f"CUSTOMER#{SUBJECT}"),
        )
    )
    found += list(
        all_items(
            stores.table("agents").query, KeyConditionExpression=Key("pk").eq(f"MEMORY#{SUBJECT}")
        )
    )
    found += list(
        all_items(stores.table("usage").scan, FilterExpression=Attr("tenant").eq(SUBJECT))
    )
    return time.perf_counter() - started, len(found)


def test_export_and_erasure_of_a_subject_with_1000_records(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import privacy.handlers.requests_wiring
    import privacy.handlers.worker
    import privacy.settings

    from tests.integration.conftest import reset_runtime_caches

    monkeypatch.setenv("COGNITION_KEY_CACHE_MAX_AGE_S", str(BOUND_S))
    reset_runtime_caches()
    for cached in (
        privacy.settings.worker_settings,
        privacy.handlers.worker.ports,
        privacy.handlers.requests_wiring.privacy_requests,
    ):
        cached.cache_clear()
    _populate(aws, SUBJECT, RECORDS)
    small = {k: 4 for k in RECORDS}
    for n in range(OTHERS):
        _populate(aws, f"cus_bench{n:04d}", small)

    baseline_s, baseline_records = _baseline(aws)
    assert baseline_records == SUBJECT_RECORDS

    export_id = _request("export")
    export_s = _deliver(aws, context, export_id)
    exported = privacy.handlers.worker.ports().requests.get(export_id)
    assert exported is not None and exported["status"] == "completed"
    records = int(exported["records"])

    erasure_id = _request("erasure")
    erase_s = _deliver(aws, context, erasure_id)  # erase every store, destroy the key, scan
    time.sleep(BOUND_S + 0.1)  # the key-cache bound: waited out, not worked
    finish_s = _deliver(aws, context, erasure_id)
    erased = privacy.handlers.worker.ports().requests.get(erasure_id)
    assert erased is not None and erased["status"] == "completed", erased
    assert erased["verification"]["leaks"] == []
    touched = sum(erased["erased"].values()) + sum(r["count"] for r in erased["retained"])

    report(
        "privacy_requests",
        {
            "subject records": SUBJECT_RECORDS,
            "other customers' items (scanned too)": OTHERS * (1 + sum(small.values())),
            "baseline: Query + Scan of the same records, s": round(baseline_s, 3),
            "export, end to end, s": round(export_s, 3),
            "export records": records,
            "export records/s": round(records / export_s),
            "export / baseline": round(export_s / baseline_s, 1),
            "erasure pass (erase, destroy key, scan), s": round(erase_s, 3),
            "erasure finish (after the bound), s": round(finish_s, 3),
            "erasure records erased or retained": touched,
            "erasure records/s": round(touched / (erase_s + finish_s)),
            "erasure / baseline": round((erase_s + finish_s) / baseline_s, 1),
            "items and objects scanned": erased["verification"]["scanned"],
            "key-cache bound waited, s (not counted)": BOUND_S,
        },
    )
