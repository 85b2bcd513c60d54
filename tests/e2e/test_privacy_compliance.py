"""The privacy compliance checker end to end, on a runner of its own: after webhooks with
customers' emails, names and phone numbers, and their consents, ``make compliance``
(``python -m infra.compliance``) and ``POST /v1/admin/jobs/privacy-compliance`` find
nothing; a plaintext email or phone seeded into a store, or a table's PITR turned off, is
found exactly; the gauge it sets fires the default alert rule on the next alerts-evaluate
run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import compliance
from tests.e2e.test_billing_webhooks import wait_processed
from tests.factories import customer, stripe_event

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

JOB = "/v1/admin/jobs/privacy-compliance"
CUSTOMERS = {
    "cus_E2ePrivacy1": ("Jenny Rosen", "jenny.rosen@example.com", "+1 415 555 0123"),
    "cus_E2ePrivacy2": ("Amadou Diallo", "amadou.diallo@example.org", "06 12 34 56 78"),
}


@pytest.fixture(scope="module")
def checked(start_runner: Any) -> Iterator[Any]:
    """A runner whose billing holds customers with emails, names and phone numbers, and
    whose privacy table holds their consents with a proof that names them (sealed)."""
    with start_runner("privacy-compliance") as runner:
        events = []
        for customer_id, (name, email, phone) in CUSTOMERS.items():
            obj = customer(customer_id, email) | {
                "name": name,
                "phone": phone,
                "address": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
            }
            events.append(stripe_event("customer.created", obj))
        for event in events:
            assert runner.post_stripe(event).status_code == 200
        wait_processed(runner, {e["id"] for e in events})
        for customer_id, (name, email, _) in CUSTOMERS.items():  # a proof naming the person
            consent = {
                "subject": {"customer_id": customer_id},
                "purpose": "marketing_email",
                "granted": True,
                "notice_version": "2026-01",
                "method": "web_form",
                "proof": f"Signup form, box ticked by {name} <{email}>",
            }
            recorded = runner.post("/v1/privacy/consents", json=consent)
            assert recorded.status_code == 201, recorded.text
        yield runner


def run_cli(runner: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    local_json = Path(runner.log_path).parent / "local" / "local.json"
    code = compliance.main(["--local-json", str(local_json)])
    return code, capsys.readouterr().out


def table_name(runner: Any, name: str) -> str:
    (found,) = [
        t for t in runner.client("dynamodb").list_tables()["TableNames"] if t.endswith(f"-{name}")
    ]
    return str(found)


def test_a_clean_runner_gives_no_finding_through_the_cli_and_the_admin_route(
    checked: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(checked, capsys)
    assert code == 0, out
    assert out.startswith("0 findings")
    answer = checked.post(JOB)
    assert answer.status_code == 200, answer.text
    summary = answer.json()["summary"]
    assert (summary["findings"], summary["reported"]) == (0, [])
    assert summary["known_names"] == len(CUSTOMERS)  # decrypted, looked for, not found


def test_a_seeded_plaintext_email_and_phone_are_found_exactly(
    checked: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = checked.client("dynamodb")
    agents = table_name(checked, "agents")
    dynamodb.put_item(
        TableName=agents,
        Item={
            "pk": {"S": "RUN#run_seeded"},
            "sk": {"S": "NOTE"},
            "note": {"S": "reach me at jenny.rosen@example.com"},
            "callback": {"S": "+44 20 7946 0958"},
        },
    )
    try:
        code, out = run_cli(checked, capsys)
        summary = checked.post(JOB).json()["summary"]
    finally:
        dynamodb.delete_item(
            TableName=agents, Key={"pk": {"S": "RUN#run_seeded"}, "sk": {"S": "NOTE"}}
        )
    assert code == 1
    assert sorted(
        (f["store"], f["key"], f["path"], f["kind"], f["sample"]) for f in summary["reported"]
    ) == [
        (
            "table:agents",
            '{"pk": "RUN#run_seeded", "sk": "NOTE"}',
            "$.callback",
            "phone",
            "+** ** **** **58",
        ),
        (
            "table:agents",
            '{"pk": "RUN#run_seeded", "sk": "NOTE"}',
            "$.note",
            "email",
            "j***@e***.com",
        ),
    ]
    assert "email    table:agents" in out and "j***@e***.com" in out
    assert "jenny.rosen" not in out and "7946" not in out


def test_pitr_turned_off_is_a_setting_finding_and_the_default_rule_pages(
    checked: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = checked.client("dynamodb")
    usage = table_name(checked, "usage")
    dynamodb.update_continuous_backups(
        TableName=usage,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    try:
        summary = checked.post(JOB).json()["summary"]
        assert [(f["store"], f["path"], f["kind"]) for f in summary["reported"]] == [
            ("table:usage", "PointInTimeRecovery", "setting")
        ]
        assert checked.post("/v1/admin/jobs/alerts-evaluate").status_code == 200
        firing = checked.get("/v1/alerts", params={"status": "firing"}).json()["alerts"]
        (alert,) = [a for a in firing if a["rule_id"] == "default-privacy-compliance"]
        assert alert["summary"] == (
            "Privacy compliance findings: 1 (plaintext personal data, settings)"
        )
    finally:
        dynamodb.update_continuous_backups(
            TableName=usage,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    assert checked.post(JOB).json()["summary"]["findings"] == 0  # the gauge back to 0
    checked.post("/v1/admin/jobs/alerts-evaluate")
    firing = checked.get("/v1/alerts", params={"status": "firing"}).json()["alerts"]
    assert not [a for a in firing if a["rule_id"] == "default-privacy-compliance"]
