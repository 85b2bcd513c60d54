"""The audit log in process under moto: what each wired action records, the read routes, the
anchors, and tampering done in the table itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from cognitionos.audit.chain import chain_of, verify_bundle
from tests.factories import http_event, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_platform_api import call
from tests.integration.test_process_events import ingest, process

OPERATORS = "operators"


def audit(
    context: LambdaContext, path: str, key: str, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    from platform_api.handlers.audit_api import lambda_handler

    event = http_event("GET", path, headers={"authorization": f"Bearer {key}"}, query=query)
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def entries(aws: Aws, chain: str) -> list[dict[str, Any]]:
    table = aws.table("audit")
    items = table.query(KeyConditionExpression="pk = :c", ExpressionAttributeValues={":c": chain})[
        "Items"
    ]
    return items


def new_key(aws: Aws, context: LambdaContext, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, Any] = {"name": "k", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    status, created = call(context, "POST", "/v1/api-keys", key=aws.admin_key, body=body)
    assert status == 201
    return str(created["key"])


def test_platform_actions_are_recorded_in_the_chain_of_their_tenant(
    aws: Aws, context: LambdaContext
) -> None:
    operator_key = new_key(aws, context, ["audit:read"])
    tenant_key = new_key(aws, context, ["billing:read"], tenant="cus_T1")
    call(context, "GET", "/v1/api-keys", key=tenant_key)  # 403: auth.denied, tenant's chain
    call(context, "GET", "/v1/api-keys", key="cos_0123456789abcdef_" + "x" * 40)  # 401
    key_id = tenant_key.split("_")[1]
    call(context, "DELETE", f"/v1/api-keys/{key_id}", key=aws.admin_key)

    status, page = audit(context, "/v1/audit/events", operator_key)
    assert status == 200
    actions = [e["action"] for e in reversed(page["events"])]
    assert actions == ["api_key.created", "auth.denied"]  # the operator key; the bad key
    assert page["events"][0]["actor"] == "0123456789abcdef"  # the id, never the secret
    assert "x" * 40 not in json.dumps(page)

    status, tenant_page = audit(context, "/v1/audit/events", operator_key, {"tenant_id": "cus_T1"})
    assert [e["action"] for e in reversed(tenant_page["events"])] == [
        "api_key.created",
        "auth.denied",
        "api_key.revoked",
    ]
    assert [e["seq"] for e in reversed(tenant_page["events"])] == [1, 2, 3]
    assert all(e["tenant_id"] == "cus_T1" for e in tenant_page["events"])
    status, verified = audit(context, "/v1/audit/verify", operator_key, {"tenant_id": "cus_T1"})
    assert (status, verified) == (200, {"valid": True, "checked": 3, "first_invalid_seq": None})


def test_a_tenant_key_reads_only_its_own_chain(aws: Aws, context: LambdaContext) -> None:
    mine = new_key(aws, context, ["audit:read"], tenant="cus_Mine")
    new_key(aws, context, ["audit:read"], tenant="cus_Other")
    status, page = audit(context, "/v1/audit/events", mine)
    assert status == 200
    assert {e["tenant_id"] for e in page["events"]} == {"cus_Mine"}
    assert audit(context, "/v1/audit/events", mine, {"tenant_id": "cus_Other"})[0] == 403
    assert audit(context, "/v1/audit/verify", mine, {"tenant_id": "cus_Other"})[0] == 403
    assert audit(context, "/v1/audit/export", mine, {"tenant_id": "cus_Other"})[0] == 403
    no_scope = new_key(aws, context, ["billing:read"])
    assert audit(context, "/v1/audit/events", no_scope)[0] == 403


def test_filters_and_pages(aws: Aws, context: LambdaContext) -> None:
    for _ in range(5):
        new_key(aws, context, ["billing:read"], tenant="cus_Pages")
        call(context, "DELETE", "/v1/api-keys/0000000000000000", key=aws.admin_key)  # 404
    query = {"tenant_id": "cus_Pages", "action": "api_key.created", "limit": "2"}
    seen: list[int] = []
    token = None
    while True:
        status, page = audit(
            context,
            "/v1/audit/events",
            aws.admin_key,
            query | ({"next_token": token} if token else {}),
        )
        assert status == 200
        seen += [e["seq"] for e in page["events"]]
        token = page["next_token"]
        if token is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    future = {"tenant_id": "cus_Pages", "since": "2999-01-01T00:00:00Z"}
    assert audit(context, "/v1/audit/events", aws.admin_key, future)[1]["events"] == []
    assert audit(context, "/v1/audit/events", aws.admin_key, {"since": "yesterday"})[0] == 422


def test_processed_events_are_recorded_once_inside_their_commit(
    aws: Aws, context: LambdaContext
) -> None:
    event = stripe_event(
        "customer.subscription.created", subscription(sub_id="sub_A", customer="cus_A")
    )
    bodies = ingest(aws, context, event)
    process(aws, context, bodies)
    process(aws, context, bodies)  # redelivered: the commit is refused, so is its entry
    recorded = entries(aws, "tenant:cus_A")
    assert [(e["seq"], e["action"]) for e in recorded] == [
        (1, "billing.event.processed"),
        (2, "subscription.changed"),
    ]
    assert recorded[0]["details"]["stripe_event_id"] == event["id"]
    assert recorded[1]["details"]["status"] == "active"
    _, verified = audit(context, "/v1/audit/verify", aws.admin_key, {"tenant_id": "cus_A"})
    assert verified["valid"] is True


def tamper_chain(aws: Aws, context: LambdaContext, tenant: str, count: int = 6) -> None:
    for _ in range(count):
        new_key(aws, context, ["billing:read"], tenant=tenant)


@pytest.mark.parametrize("tampering", ["change", "delete", "reorder", "delete last"])
def test_tampering_in_the_table_is_reported_at_the_first_invalid_seq(
    aws: Aws, context: LambdaContext, tampering: str
) -> None:
    tamper_chain(aws, context, "cus_Tamper")
    table = aws.table("audit")
    chain = "tenant:cus_Tamper"
    stored = entries(aws, chain)
    if tampering == "change":
        table.put_item(Item={**stored[2], "actor": "mallory"})
        expected = 3
    elif tampering == "delete":
        table.delete_item(Key={"pk": chain, "sk": stored[3]["sk"]})
        expected = 4
    elif tampering == "reorder":
        table.put_item(Item={**stored[4], "sk": stored[1]["sk"]})
        table.put_item(Item={**stored[1], "sk": stored[4]["sk"]})
        expected = 2
    else:
        table.delete_item(Key={"pk": chain, "sk": stored[-1]["sk"]})
        expected = 6
    status, verified = audit(
        context, "/v1/audit/verify", aws.admin_key, {"tenant_id": "cus_Tamper"}
    )
    assert (status, verified["valid"], verified["first_invalid_seq"]) == (200, False, expected)
    _, bundle = audit(context, "/v1/audit/export", aws.admin_key, {"tenant_id": "cus_Tamper"})
    offline = verify_bundle(bundle)
    assert (offline.valid, offline.first_invalid_seq) == (False, expected)
    metric = aws.table("metrics").scan()["Items"]
    assert any("audit.verification_failures" in str(item["pk"]) for item in metric)


def run_anchor_job(context: LambdaContext) -> dict[str, Any]:
    from cognitionos.jobs import schedule_event
    from platform_api.handlers.audit_anchor_job import lambda_handler

    result: dict[str, Any] = lambda_handler(schedule_event("audit-anchor"), context)
    return result


def test_anchors_are_locked_in_s3_and_catch_a_rewrite_of_the_whole_tail(
    aws: Aws, context: LambdaContext
) -> None:
    tamper_chain(aws, context, "cus_Anchor", count=4)
    assert run_anchor_job(context) == {"chains": 1, "anchored": 1, "unchanged": 0}
    # The first run's audit.anchored started the operators' chain: the second anchors that
    # alone, and leaves the tenant's unchanged head be.
    assert run_anchor_job(context) == {"chains": 2, "anchored": 1, "unchanged": 1}
    from cognitionos.audit.store import AuditReader

    reader = AuditReader(aws.table("audit"), aws.table("audit-heads"))
    [note, _] = reader.entries(chain_of(None))
    assert (note["action"], note["details"]) == (
        "audit.anchored",
        {"chains": 1, "anchored": 1, "unchanged": 0},
    )
    s3 = boto3.client("s3")
    bucket = aws.env["AUDIT_ANCHORS_BUCKET"]
    head = s3.head_object(Bucket=bucket, Key="anchors/tenant:cus_Anchor/000000000004.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime(2027, 1, 1, tzinfo=UTC)
    version = s3.list_object_versions(Bucket=bucket, Prefix="anchors/tenant:cus_Anchor/")
    with pytest.raises(s3.exceptions.ClientError):
        s3.delete_object(
            Bucket=bucket,
            Key="anchors/tenant:cus_Anchor/000000000004.json",
            VersionId=version["Versions"][0]["VersionId"],
        )

    # A forger with the table rewrites entry 2 and re-hashes everything after it, head too.
    from cognitionos.audit.chain import GENESIS, Draft

    chain = "tenant:cus_Anchor"
    stored = entries(aws, chain)
    prev = GENESIS
    for item in stored:
        fields = {k: item[k] for k in Draft.__dataclass_fields__}
        if item["seq"] == 2:
            fields["actor"] = "mallory"
        forged = Draft(**fields).at(int(item["seq"]), prev)
        prev = forged["hash"]
        aws.table("audit").put_item(Item={"pk": chain, "sk": item["sk"], **forged})
    aws.table("audit-heads").put_item(Item={"chain": chain, "seq": 4, "hash": prev})

    _, verified = audit(context, "/v1/audit/verify", aws.admin_key, {"tenant_id": "cus_Anchor"})
    assert (verified["valid"], verified["first_invalid_seq"]) == (False, 1)
    _, bundle = audit(context, "/v1/audit/export", aws.admin_key, {"tenant_id": "cus_Anchor"})
    assert bundle["anchors"][0]["seq"] == 4
    assert verify_bundle(bundle).first_invalid_seq == 1


def test_sealed_personal_details_keep_the_chain_valid_after_erasure(aws: Aws) -> None:
    from cognitionos.audit.store import AuditLog, AuditReader
    from cognitionos.crypto import subject_keyring

    keyring = subject_keyring()
    log = AuditLog(aws.table("audit"), aws.table("audit-heads"), keyring)
    entry = log.record(
        "consent.granted",
        actor="cus_Erased",
        resource="consent:marketing",
        tenant_id="cus_Erased",
        details={"purpose": "marketing"},
        personal={"email": "ada@example.com"},
    )
    raw = json.dumps(entries(aws, "tenant:cus_Erased"), default=str)
    assert "ada@example.com" not in raw
    assert (
        keyring.decrypt("cus_Erased", "audit.email", entry["sealed"]["email"]) == "ada@example.com"
    )
    keyring.destroy("cus_Erased")
    reader = AuditReader(aws.table("audit"), aws.table("audit-heads"))
    from cognitionos.audit.chain import verify

    result = verify(
        reader.entries("tenant:cus_Erased"),
        "tenant:cus_Erased",
        head=reader.head("tenant:cus_Erased"),
    )
    assert result.valid


def test_an_unknown_job_is_not_recorded_as_run(aws: Aws, context: LambdaContext) -> None:
    status, _ = call(context, "POST", "/v1/admin/jobs/nightly", key=aws.admin_key)
    assert status == 404
    assert entries(aws, OPERATORS) == []


def test_dunning_steps_are_recorded_once_in_the_cases_own_write(aws: Aws) -> None:
    from tests.integration.test_dunning import failed, service

    dunning = service(aws)
    for _ in range(2):  # a redelivered failure changes nothing, and records nothing
        dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, None), "past_due")
    paid = failed(1, None) | {"status": "paid"}
    dunning.on_invoice_event("invoice.paid", 2000, paid, "active")
    recorded = entries(aws, "tenant:cus_1")
    assert [(e["seq"], e["action"]) for e in recorded] == [
        (1, "dunning.case_opened"),
        (2, "dunning.recovered"),
    ]
    assert recorded[0]["resource"] == "invoice:in_1"
    assert recorded[1]["details"]["closed_reason"] == "invoice_paid"


def test_a_key_and_its_created_entry_are_written_together_and_a_revocation_recorded_once(
    aws: Aws, context: LambdaContext
) -> None:
    from tests.aws_calls import count_aws_calls

    new_key(aws, context, ["billing:read"], tenant="cus_Keys")  # the chain's head is known
    with count_aws_calls() as creating:
        key = new_key(aws, context, ["billing:read"], tenant="cus_Keys")
    key_id = key.split("_")[1]
    revoked = [call(context, "DELETE", f"/v1/api-keys/{key_id}", key=aws.admin_key) for _ in "ab"]

    # The key's put and its entry are one transaction: no key without its entry.
    assert creating["dynamodb.TransactWriteItems"] == 1
    assert "dynamodb.PutItem" not in creating
    assert [status for status, _ in revoked] == [200, 200]
    assert revoked[0][1]["revoked_at"] == revoked[1][1]["revoked_at"]
    mine = [e for e in entries(aws, "tenant:cus_Keys") if e["resource"] == f"api_key:{key_id}"]
    assert [e["action"] for e in mine] == ["api_key.created", "api_key.revoked"]
    assert mine[1]["details"] == {"revoked_at": revoked[0][1]["revoked_at"]}
