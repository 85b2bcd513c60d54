"""The privacy-compliance job under moto: a clean deployment gives no finding; a plaintext
email, phone or known name anywhere, or a store's setting changed, gives exactly that
finding, redacted; the gauge and the audit entry carry counts only."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra import topology
from tests.integration.conftest import REGION, Aws, LambdaContext, reset_runtime_caches

NAME = "Jenny Rosen"
EMAIL = "jenny.rosen@example.com"


@pytest.fixture
def checker(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The job's environment as the stack sets it, and one billing customer whose name and
    email are sealed, as billing-process stores them."""
    from cognitionos.crypto import subject_keyring

    for name, value in topology.function("privacy-compliance").static_env().items():
        monkeypatch.setenv(name, value)
    _forget_settings()
    keyring = subject_keyring()
    aws.table("billing").put_item(
        Item={
            "pk": "CUSTOMER#cus_QxZ7Lh2nE3vT1a",
            "sk": "STATE",
            "kind": "customer",
            "object_id": "cus_QxZ7Lh2nE3vT1a",
            "customer_id": "cus_QxZ7Lh2nE3vT1a",
            "created": 1714500000,
            "name_enc": keyring.encrypt("cus_QxZ7Lh2nE3vT1a", "name", NAME),
            "email_enc": keyring.encrypt("cus_QxZ7Lh2nE3vT1a", "email", EMAIL),
            "expires_at": 1900000000,
        }
    )
    return aws


def _forget_settings() -> None:
    import privacy.settings

    reset_runtime_caches()
    privacy.settings.compliance_settings.cache_clear()


def run_job() -> dict[str, Any]:
    from privacy.handlers.compliance_job import lambda_handler

    from cognitionos.jobs import schedule_event

    _forget_settings()
    event = schedule_event("privacy-compliance")
    return lambda_handler(event, LambdaContext())  # type: ignore[no-any-return]


def test_a_clean_deployment_gives_no_finding(checker: Aws) -> None:
    summary = run_job()
    assert (summary["findings"], summary["reported"]) == (0, [])
    assert summary["known_names"] == 1
    assert summary["stores_scanned"] == len(topology.TABLES) + len(topology.BUCKETS)
    assert summary["stores_settings_checked"] == len(topology.TABLES) + len(topology.BUCKETS)


def test_a_plaintext_email_phone_and_name_are_each_found_redacted(
    checker: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    checker.table("agents").put_item(
        Item={"pk": "RUN#run_1", "sk": "NOTE", "note": f"write to {EMAIL}"}
    )
    checker.table("revenue").put_item(
        Item={"pk": "CUSTOMER#cus_1", "sk": "X", "contact": {"who": "jenny ROSEN"}}
    )
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=checker.env["PRIVACY_EXPORTS_BUCKET"],
        Key="exports/req_1.json",
        Body=json.dumps({"data": {"phone": "+1 415 555 0123"}}).encode(),
    )
    summary = run_job()
    found = {(f["store"], f["kind"]): f for f in summary["reported"]}
    assert set(found) == {
        ("table:agents", "email"),
        ("table:revenue", "name"),
        ("bucket:privacy-exports", "phone"),
    }
    assert found["table:agents", "email"] == {
        "store": "table:agents",
        "key": '{"pk": "RUN#run_1", "sk": "NOTE"}',
        "path": "$.note",
        "kind": "email",
        "sample": "j***@e***.com",
    }
    assert found["table:revenue", "name"]["path"] == "$.contact.who"
    assert found["bucket:privacy-exports", "phone"]["key"] == "exports/req_1.json"
    assert (summary["email_findings"], summary["phone_findings"], summary["name_findings"]) == (
        1,
        1,
        1,
    )
    shown = json.dumps(summary) + capsys.readouterr().out
    for plaintext in ("jenny", "Jenny", "ROSEN", "415 555", "example.com"):
        assert plaintext not in shown


def test_a_setting_changed_outside_the_stack_is_a_setting_finding(checker: Aws) -> None:
    boto3.client("dynamodb", region_name=REGION).update_continuous_backups(
        TableName=checker.env["USAGE_TABLE"],
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    boto3.client("s3", region_name=REGION).put_bucket_lifecycle_configuration(
        Bucket=checker.env["EVENT_BODIES_BUCKET"],
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-objects",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": 90},
                }
            ]
        },
    )
    summary = run_job()
    assert [(f["store"], f["path"], f["sample"]) for f in summary["reported"]] == [
        ("bucket:event-bodies", "Lifecycle.Expiration", "found 90 days, declared 18 days"),
        ("table:usage", "PointInTimeRecovery", "found disabled, declared enabled"),
    ]
    assert summary["setting_findings"] == 2


def test_the_gauge_and_the_audit_entry_carry_the_counts_only(checker: Aws) -> None:
    from boto3.dynamodb.conditions import Key

    checker.table("agents").put_item(Item={"pk": "RUN#run_1", "sk": "NOTE", "note": EMAIL})
    run_job()
    metrics = checker.table("metrics").scan()["Items"]
    (gauge,) = [m for m in metrics if m["pk"] == "privacy.compliance_findings"]
    assert gauge["value"] == 1
    entries = checker.table("audit").query(KeyConditionExpression=Key("pk").eq("operators"))
    (entry,) = [e for e in entries["Items"] if e["action"] == "privacy.compliance.checked"]
    assert entry["actor"] == "job:privacy-compliance"
    assert entry["details"]["findings"] == 1 and entry["details"]["email_findings"] == 1
    assert "jenny" not in json.dumps(entry, default=str)
