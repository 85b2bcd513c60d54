"""The privacy worker under moto: exports by id and by email, an erasure's two passes around
the key-cache bound, redelivery, and failures (retried, then failed; permanent at once)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.factories import customer, invoice, sqs_event, stripe_event, subscription
from tests.integration.conftest import REGION, Aws, LambdaContext
from tests.integration.test_process_events import ingest, process

BOUND_S = 1


def forget_privacy_caches() -> None:
    import privacy.handlers.requests_wiring
    import privacy.handlers.worker
    import privacy.settings

    privacy.settings.api_settings.cache_clear()
    privacy.settings.worker_settings.cache_clear()
    privacy.handlers.worker.ports.cache_clear()
    privacy.handlers.requests_wiring.privacy_requests.cache_clear()


@pytest.fixture
def world(aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("COGNITION_KEY_CACHE_MAX_AGE_S", str(BOUND_S))
    from tests.integration.conftest import reset_runtime_caches

    reset_runtime_caches()
    forget_privacy_caches()
    events = [
        stripe_event("customer.created", customer("cus_1", "ada@example.com"), created=10),
        stripe_event("customer.created", customer("cus_2", "bob@example.com"), created=11),
        stripe_event("customer.subscription.created", subscription("sub_1", "cus_1"), created=12),
        stripe_event("invoice.paid", invoice("in_1", "cus_1", "paid", "sub_1"), created=13),
        stripe_event("invoice.paid", invoice("in_2", "cus_2", "paid", "sub_2"), created=14),
    ]
    for event in events:  # one at a time: each customer's group in order
        assert process(aws, context, ingest(aws, context, event)) == {"batchItemFailures": []}
    yield aws
    forget_privacy_caches()


def new_request(
    kind: str, customer_id: str | None = None, email: str | None = None, tenant: str = ""
) -> str:
    import uuid

    from privacy.handlers.requests_wiring import privacy_requests

    from cognitionos.crypto import blind_index, blind_index_key

    request_id = f"{kind[:3]}_{uuid.uuid4().hex}"
    privacy_requests()._table.put_item(
        Item={
            "pk": f"REQUEST#{request_id}",
            "sk": "REQUEST",
            "request_id": request_id,
            "kind": kind,
            "status": "pending",
            "phase": "queued",
            "subject_customer_id": customer_id or "",
            "subject_email_bidx": blind_index(email, blind_index_key()) if email else "",
            "tenant_id": tenant,
            "requested_by": "key_test",
            "requested_at": "2026-12-03T15:00:00Z",
        }
    )
    return request_id


def deliver(aws: Aws, context: LambdaContext, request_id: str, receives: int = 1) -> dict[str, Any]:
    from privacy.handlers.worker import lambda_handler

    event = sqs_event([json.dumps({"request_id": request_id})], aws.queue_arns["privacy-requests"])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(receives)
    result: dict[str, Any] = lambda_handler(event, context)
    return result


def request(request_id: str) -> dict[str, Any]:
    from privacy.handlers.requests_wiring import privacy_requests

    found = privacy_requests().get(request_id)
    assert found is not None
    return found


def export_file(aws: Aws, key: str) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    body = s3.get_object(Bucket=aws.env["PRIVACY_EXPORTS_BUCKET"], Key=key)
    assert body["ServerSideEncryption"] == "aws:kms"
    return dict(json.loads(body["Body"].read()))


def test_an_export_by_email_finds_the_customer_and_writes_every_category(
    world: Aws, context: LambdaContext
) -> None:
    request_id = new_request("export", email=" ADA@example.com")
    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    done = request(request_id)
    assert done["status"] == "completed"
    document = export_file(world, done["object_key"])
    assert document["subject"] == {"customer_id": "cus_1"}
    assert [c["email"] for c in document["data"]["customer"]] == ["ada@example.com"]
    assert [i["id"] for i in document["data"]["invoices"]] == ["in_1"]
    assert "bob@example.com" not in json.dumps(document)
    assert done["records"] == sum(len(v) for v in document["data"].values())
    # Redelivered: the same object, no second completion.
    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    assert request(request_id)["completed_at"] == done["completed_at"]


def test_an_email_nobody_has_fails_the_request_at_once_without_a_retry(
    world: Aws, context: LambdaContext
) -> None:
    request_id = new_request("export", email="nobody@example.com")
    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    assert (request(request_id)["status"], request(request_id)["reason"]) == (
        "failed",
        "no customer has this email",
    )


def test_a_bound_key_asking_by_email_for_another_tenant_gets_the_request_failed(
    world: Aws, context: LambdaContext
) -> None:
    request_id = new_request("erasure", email="bob@example.com", tenant="cus_1")
    deliver(world, context, request_id)
    assert request(request_id)["reason"] == "the subject is not this API key's tenant"
    assert world.table("billing").get_item(Key={"pk": "CUSTOMER#cus_2", "sk": "STATE"})["Item"]


def test_a_failure_is_retried_and_fails_the_request_only_on_the_last_receive(
    world: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privacy.handlers.worker import ports

    def broken(customer_id: str) -> Any:
        raise RuntimeError("the table is throttled")

    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    monkeypatch.setattr(ports().records, "collect", broken)
    request_id = new_request("export", customer_id="cus_1")
    # A batch of one whose record failed: the invocation fails, the message comes back.
    with pytest.raises(BatchProcessingError):
        deliver(world, context, request_id, receives=1)
    assert request(request_id)["status"] == "pending"
    with pytest.raises(BatchProcessingError):  # the last receive: next stop, the DLQ
        deliver(world, context, request_id, receives=3)
    assert (request(request_id)["status"], request(request_id)["reason"]) == (
        "failed",
        "it failed on every attempt",
    )


def test_an_erasure_completes_only_after_the_key_cache_bound_and_audits_it(
    world: Aws, context: LambdaContext
) -> None:
    from cognitionos.crypto import key_cache_max_age_s, subject_keyring

    assert key_cache_max_age_s() == BOUND_S  # the setting reaches the keyring
    assert subject_keyring()._cache._max_age_s == BOUND_S
    request_id = new_request("erasure", customer_id="cus_1")

    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    first = request(request_id)
    assert (first["status"], first["phase"]) == ("pending", "awaiting_key_cache_expiry")
    assert first["verification"]["leaks"] == []
    assert first["erased"]["customer"] == 1
    assert world.receive("privacy-requests") == []  # queued again, but delayed by the bound
    time.sleep(BOUND_S + 0.2)
    (again,) = world.receive("privacy-requests")
    assert json.loads(again["Body"]) == {"request_id": request_id}
    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    done = request(request_id)
    assert done["status"] == "completed"
    assert done["subject_customer_id"].startswith("anon_")
    audit = world.table("audit").scan()["Items"]
    assert [e["action"] for e in audit if e["action"].startswith("privacy.erasure")] == [
        "privacy.erasure.completed"
    ]
    # A redelivery of either message changes nothing.
    assert deliver(world, context, request_id) == {"batchItemFailures": []}
    assert request(request_id) == done
    # The other customer is untouched; the erased one's invoice is kept, pseudonymised.
    billing = world.table("billing")
    assert billing.get_item(Key={"pk": "CUSTOMER#cus_2", "sk": "STATE"})["Item"]["email_enc"]
    kept = billing.get_item(Key={"pk": "INVOICE#in_1", "sk": "STATE"})["Item"]
    assert kept["customer_id"] == done["pseudonym"] and "gsi3pk" not in kept


def test_an_erasure_delivered_before_the_bound_waits_again(
    world: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privacy.handlers.worker import ports

    monkeypatch.setattr(ports(), "cache_bound_s", 600)  # the default's order of magnitude
    request_id = new_request("erasure", customer_id="cus_2")
    deliver(world, context, request_id)
    first = request(request_id)
    deliver(world, context, request_id)  # early (a duplicate): the bound has not passed
    assert request(request_id) == first
    assert (first["status"], first["phase"]) == ("pending", "awaiting_key_cache_expiry")


def test_a_warm_keyring_decrypts_until_the_bound_and_never_after_the_erasure(
    world: Aws,
) -> None:
    """Another environment that cached the subject's key before the erasure: readable until
    the configured bound has passed since it loaded the key, then SubjectErased."""
    from cognitionos.aws import dynamodb_table
    from cognitionos.crypto import SubjectErased, SubjectKeyring, key_cache_max_age_s

    now = [100.0]
    warm = SubjectKeyring(
        dynamodb_table(world.env["SUBJECT_KEYS_TABLE"]),
        world.env["PII_KEY_ID"],
        cache_max_age_s=key_cache_max_age_s(),
        clock=lambda: now[0],
    )
    token = warm.encrypt("cus_1", "note", "Ada's note")
    SubjectKeyring(
        dynamodb_table(world.env["SUBJECT_KEYS_TABLE"]), world.env["PII_KEY_ID"]
    ).destroy("cus_1")
    now[0] += BOUND_S  # exactly at the bound: still the cached key
    assert warm.decrypt("cus_1", "note", token) == "Ada's note"
    now[0] += 0.001  # past it: the cache forgets, the load meets the tombstone
    with pytest.raises(SubjectErased):
        warm.decrypt("cus_1", "note", token)
