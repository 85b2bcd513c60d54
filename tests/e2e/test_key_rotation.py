"""A PII key rotation end to end, through the local runner started as after deploying a new
key generation (``COGNITION_PII_KEY_ROTATION=on``): a customer's data key wrapped by the
previous key, the job run through ``POST /v1/admin/jobs/pii-key-rotation``, the customer read
back unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from infra import topology
from tests.e2e.test_billing_webhooks import wait_processed
from tests.factories import customer, stripe_event

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CUSTOMER = "cus_e2e_rotation"
JOB = "/v1/admin/jobs/pii-key-rotation"


@pytest.fixture(scope="module")
def rotating(start_runner: Any) -> Iterator[Any]:
    with start_runner("pii-rotation", COGNITION_PII_KEY_ROTATION="on") as runner:
        yield runner


def key_arns(runner: Any) -> dict[str, str]:
    """Topology key name -> ARN, told apart by the description the runner gave each."""
    kms = runner.client("kms")
    by_description = {k.description: k.name for k in (topology.PII_KEY, topology.PII_PREVIOUS_KEY)}
    found = {}
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("Description") in by_description:
            found[by_description[meta["Description"]]] = meta["Arn"]
    return found


def subject_keys(runner: Any) -> Any:
    (name,) = [
        n
        for n in runner.client("dynamodb").list_tables()["TableNames"]
        if n.endswith("-subject-keys")
    ]
    return name


def wrap_under_the_previous_key(runner: Any, subject: str, previous: str) -> None:
    """What a data key created before the rotation looks like: wrapped by the old key."""
    dynamodb, kms = runner.client("dynamodb"), runner.client("kms")
    table = subject_keys(runner)
    item = dynamodb.get_item(TableName=table, Key={"subject_id": {"S": subject}})["Item"]
    back = kms.re_encrypt(
        CiphertextBlob=item["wrapped_key"]["B"],
        SourceEncryptionContext={"subject_id": subject},
        DestinationKeyId=previous,
        DestinationEncryptionContext={"subject_id": subject},
    )
    item["wrapped_key"] = {"B": back["CiphertextBlob"]}
    item["kms_key_id"] = {"S": previous}
    dynamodb.put_item(TableName=table, Item=item)


def wrapped_by(runner: Any) -> dict[str, str]:
    items = runner.client("dynamodb").scan(TableName=subject_keys(runner), ConsistentRead=True)[
        "Items"
    ]
    return {i["subject_id"]["S"]: i.get("kms_key_id", {}).get("S", "erased") for i in items}


def test_the_rotation_job_rewraps_a_customers_key_and_the_customer_reads_the_same(
    rotating: Any,
) -> None:
    event = stripe_event("customer.created", customer(CUSTOMER), int(time.time()) - 60)
    assert rotating.post_stripe(event).status_code == 200
    wait_processed(rotating, {event["id"]})
    keys = key_arns(rotating)
    assert set(keys) == {"pii", "pii-previous"}
    wrap_under_the_previous_key(rotating, CUSTOMER, keys["pii-previous"])
    assert wrapped_by(rotating)[CUSTOMER] == keys["pii-previous"]

    first = rotating.post(JOB)
    assert first.status_code == 200
    summary = first.json()["summary"]
    assert (summary["rewrapped"], summary["other_key"], summary["done"]) == (1, 0, True)
    assert set(wrapped_by(rotating).values()) <= {keys["pii"], "erased"}
    assert rotating.get(f"/v1/billing/customers/{CUSTOMER}").json()["email"] == (
        "jenny.rosen@example.com"
    )

    again = rotating.post(JOB).json()["summary"]
    assert (again["rewrapped"], again["done"]) == (0, True)  # done: nothing to do, nothing done

    events = rotating.get("/v1/audit/events", params={"action": "key.rotated"}).json()["events"]
    assert len(events) == 1  # the run that examined subjects; the second read one item
    assert events[0]["details"]["rewrapped"] == 1
    assert events[0]["details"]["to_key"] == keys["pii"]


def test_the_job_is_admin_only(rotating: Any) -> None:
    reader = rotating.post("/v1/api-keys", json={"name": "r", "scopes": ["billing:read"]})
    assert rotating.post(JOB, key=reader.json()["key"]).status_code == 403
    assert rotating.post(JOB, key=None).status_code == 401
