"""The audit routes end to end: events, verify, export (checked offline) and the anchor job."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

KERNEL = Path(__file__).resolve().parents[2] / "layers" / "kernel" / "python"


def tenant_with_history(runner: Any, keys: int = 3) -> tuple[str, str]:
    """A fresh tenant with ``keys`` keys created for it, and an audit reader bound to it."""
    tenant = f"cus_E2E{secrets.token_hex(6)}"
    for _ in range(keys):
        made = runner.post(
            "/v1/api-keys", json={"name": "x", "scopes": ["billing:read"], "tenant_id": tenant}
        )
        assert made.status_code == 201
    reader = runner.post(
        "/v1/api-keys", json={"name": "auditor", "scopes": ["audit:read"], "tenant_id": tenant}
    )
    return tenant, reader.json()["key"]


def audit_table(runner: Any) -> str:
    names = runner.client("dynamodb").list_tables()["TableNames"]
    (name,) = [n for n in names if n.endswith("-audit")]
    return str(name)


def test_events_lists_a_tenants_chain_newest_first_and_filters(runner: Any) -> None:
    tenant, reader = tenant_with_history(runner)
    page = runner.get("/v1/audit/events", key=reader)
    assert page.status_code == 200
    events = page.json()["events"]
    assert [e["seq"] for e in events] == [4, 3, 2, 1]
    assert {e["action"] for e in events} == {"api_key.created"}
    assert {e["tenant_id"] for e in events} == {tenant}
    assert set(events[0]) == {
        "event_id", "seq", "time", "actor", "action", "resource", "tenant_id", "details",
        "hash", "prev_hash",
    }  # fmt: skip
    assert events[1]["hash"] == events[0]["prev_hash"]
    first = runner.get("/v1/audit/events", key=reader, params={"limit": 3}).json()
    rest = runner.get(
        "/v1/audit/events", key=reader, params={"limit": 3, "next_token": first["next_token"]}
    ).json()
    assert [e["seq"] for e in first["events"] + rest["events"]] == [4, 3, 2, 1]
    assert rest["next_token"] is None
    none = runner.get("/v1/audit/events", key=reader, params={"action": "api_key.revoked"})
    assert none.json()["events"] == []


def test_audit_routes_refuse_no_key_a_wrong_scope_and_another_tenant(runner: Any) -> None:
    _, reader = tenant_with_history(runner, keys=1)
    other, _ = tenant_with_history(runner, keys=1)
    wrong = runner.post("/v1/api-keys", json={"name": "r", "scopes": ["revenue:read"]}).json()[
        "key"
    ]
    for path in ("/v1/audit/events", "/v1/audit/verify", "/v1/audit/export"):
        assert runner.get(path, key=None).status_code == 401
        assert runner.get(path, key=wrong).status_code == 403
        assert runner.get(path, key=reader, params={"tenant_id": other}).status_code == 403


def test_verify_reports_the_first_invalid_seq_after_a_change_in_the_table(runner: Any) -> None:
    tenant, reader = tenant_with_history(runner, keys=4)
    assert runner.get("/v1/audit/verify", key=reader).json() == {
        "valid": True,
        "checked": 5,
        "first_invalid_seq": None,
    }
    dynamodb = runner.client("dynamodb")
    table = audit_table(runner)
    key = {"pk": {"S": f"tenant:{tenant}"}, "sk": {"S": "000000000003"}}
    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    dynamodb.put_item(TableName=table, Item={**item, "actor": {"S": "mallory"}})
    assert runner.get("/v1/audit/verify", key=reader).json() == {
        "valid": False,
        "checked": 2,
        "first_invalid_seq": 3,
    }


def test_an_export_verifies_offline_with_its_anchors(runner: Any, tmp_path: Path) -> None:
    tenant, reader = tenant_with_history(runner, keys=2)
    ran = runner.post("/v1/admin/jobs/audit-anchor")
    assert ran.status_code == 200
    assert ran.json()["summary"]["anchored"] >= 1
    again = runner.post("/v1/admin/jobs/audit-anchor").json()["summary"]
    assert again["anchored"] <= 1  # only the operators' chain moved (admin.job.run)
    exported = runner.get("/v1/audit/export", key=reader)
    assert exported.status_code == 200
    bundle = exported.json()
    assert bundle["chain"] == f"tenant:{tenant}"
    assert [a["seq"] for a in bundle["anchors"]] == [3]
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(bundle))
    checked = subprocess.run(
        [sys.executable, "-m", "cognitionos.audit", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(KERNEL)},  # no AWS settings, no endpoint: offline
    )
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["valid"] is True
    bundle["entries"][1]["details"] = {"scopes": ["admin"]}
    path.write_text(json.dumps(bundle))
    forged = subprocess.run(
        [sys.executable, "-m", "cognitionos.audit", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(KERNEL)},
    )
    assert forged.returncode == 1
    assert json.loads(forged.stdout)["first_invalid_seq"] == 2


def test_operator_actions_go_to_the_operators_chain(runner: Any) -> None:
    runner.post("/v1/admin/jobs/audit-anchor")
    events = runner.get("/v1/audit/events", params={"action": "admin.job.run", "limit": 5}).json()
    assert events["events"][0]["resource"] == "job:audit-anchor"
    assert events["events"][0]["tenant_id"] is None
    assert runner.get("/v1/audit/verify").json()["valid"] is True
