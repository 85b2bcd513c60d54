"""The pii-key-rotation job under moto: data keys re-wrapped under the new PII key, data
untouched, erasures kept (and winning a race), resumable, idempotent, audited."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra import topology
from tests.integration.conftest import REGION, Aws, LambdaContext, reset_runtime_caches

EMAIL = "ada.lovelace@example.com"


@dataclass
class Rotation:
    """A deployment mid-rotation: data sealed before it, under the old key."""

    aws: Aws
    old_key: str
    new_key: str
    tokens: dict[str, str]  # subject -> its email token, sealed under the old key

    def keyring(self) -> Any:
        """A reader's keyring as the rotated deployment builds it (cold cache)."""
        from cognitionos.crypto import subject_keyring

        reset_runtime_caches()
        return subject_keyring()

    def items(self) -> dict[str, dict[str, Any]]:
        scanned = self.aws.table("subject-keys").scan(ConsistentRead=True)["Items"]
        return {str(item["subject_id"]): item for item in scanned}


def run_job(context: Any = None, *, on_demand: bool = False) -> dict[str, Any]:
    from cognitionos.jobs import schedule_event
    from platform_api.handlers.pii_key_rotation_job import lambda_handler

    event = schedule_event("pii-key-rotation", on_demand=on_demand)
    return lambda_handler(event, context or LambdaContext())  # type: ignore[no-any-return]


def start_rotation(aws: Aws, monkeypatch: pytest.MonkeyPatch, subjects: int) -> Rotation:
    """Seal an email per subject under the deployed key, then deploy a new key generation:
    the old key becomes the previous one."""
    from cognitionos.aws import dynamodb_table
    from cognitionos.crypto import SubjectKeyring

    old_key = aws.env[topology.PII_KEY.env_var]
    before = SubjectKeyring(dynamodb_table(aws.env["SUBJECT_KEYS_TABLE"]), old_key)
    tokens = {
        f"cus_{n:04d}": before.encrypt(f"cus_{n:04d}", "email", EMAIL) for n in range(subjects)
    }
    new_key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv(topology.PII_KEY.env_var, new_key)
    monkeypatch.setenv(topology.PII_PREVIOUS_KEY.env_var, old_key)
    reset_runtime_caches()
    return Rotation(aws, old_key, new_key, tokens)


@pytest.fixture
def rotation(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Rotation:
    return start_rotation(aws, monkeypatch, subjects=12)


def key_rotated_entries(aws: Aws) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    items = aws.table("audit").query(KeyConditionExpression=Key("pk").eq("operators"))["Items"]
    return [item for item in items if item.get("action") == "key.rotated"]


def test_every_data_key_is_rewrapped_and_the_data_sealed_before_still_decrypts(
    rotation: Rotation,
) -> None:
    summary = run_job()

    assert summary == {
        "rewrapped": 12,
        "already_current": 0,
        "erased_skipped": 0,
        "other_key": 0,
        "remaining": 0,
        "done": True,
    }
    assert {item["kms_key_id"] for item in rotation.items().values()} == {rotation.new_key}
    ring = rotation.keyring()
    assert all(ring.decrypt(s, "email", t) == EMAIL for s, t in rotation.tokens.items())


def test_after_the_rotation_no_key_is_readable_without_the_new_key(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job()
    monkeypatch.delenv(topology.PII_PREVIOUS_KEY.env_var)  # the rotation's end: old key gone
    ring = rotation.keyring()
    assert ring.decrypt("cus_0003", "email", rotation.tokens["cus_0003"]) == EMAIL


def test_during_the_rotation_readers_decrypt_under_either_key(rotation: Rotation) -> None:
    from cognitionos.crypto import subject_keyring

    ring = rotation.keyring()
    assert ring.decrypt("cus_0001", "email", rotation.tokens["cus_0001"]) == EMAIL  # old key
    token = subject_keyring().encrypt("cus_new", "email", EMAIL)
    assert rotation.items()["cus_new"]["kms_key_id"] == rotation.new_key  # new keys: new key
    assert rotation.keyring().decrypt("cus_new", "email", token) == EMAIL


def test_a_key_wrapped_by_neither_key_is_refused_by_name(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cognitionos.crypto import UnknownWrappingKey

    monkeypatch.delenv(topology.PII_PREVIOUS_KEY.env_var)  # the old key dropped too early
    with pytest.raises(UnknownWrappingKey, match="neither the current nor the previous"):
        rotation.keyring().decrypt("cus_0001", "email", rotation.tokens["cus_0001"])


def test_erased_subjects_are_skipped_and_stay_erased(rotation: Rotation) -> None:
    from cognitionos.crypto import SubjectErased

    rotation.keyring().destroy("cus_0002")
    summary = run_job()

    assert (summary["rewrapped"], summary["erased_skipped"]) == (11, 1)
    assert rotation.items()["cus_0002"] == {"subject_id": "cus_0002", "erased": True}
    with pytest.raises(SubjectErased):
        rotation.keyring().decrypt("cus_0002", "email", rotation.tokens["cus_0002"])


def test_an_erasure_during_the_rewrap_wins(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The subject is erased between the job's read and its write: the tombstone stays."""
    from cognitionos.crypto import SubjectErased
    from cognitionos.key_rotation import SubjectKeyRewrapper

    real_rewrap = SubjectKeyRewrapper.rewrap

    def erased_meanwhile(self: SubjectKeyRewrapper, item: dict[str, Any]) -> Any:
        if item["subject_id"] == "cus_0005":  # another function erases it, on its own stack
            eraser = threading.Thread(target=rotation.keyring().destroy, args=("cus_0005",))
            eraser.start()
            eraser.join()
        return real_rewrap(self, item)

    monkeypatch.setattr(SubjectKeyRewrapper, "rewrap", erased_meanwhile)
    summary = run_job()

    assert (summary["rewrapped"], summary["erased_skipped"]) == (11, 1)
    assert rotation.items()["cus_0005"] == {"subject_id": "cus_0005", "erased": True}
    with pytest.raises(SubjectErased):
        rotation.keyring().decrypt("cus_0005", "email", rotation.tokens["cus_0005"])


def slow_rewraps(
    monkeypatch: pytest.MonkeyPatch, invocation_s: float, per_subject_s: float
) -> None:
    """An invocation of ``invocation_s`` in which each examined subject takes ``per_subject_s``."""
    from cognitionos import deadline
    from cognitionos.key_rotation import SubjectKeyRewrapper

    spent = {"s": 0.0}
    real_rewrap = SubjectKeyRewrapper.rewrap

    def slow(self: SubjectKeyRewrapper, item: dict[str, Any]) -> Any:
        spent["s"] += per_subject_s
        return real_rewrap(self, item)

    monkeypatch.setattr(SubjectKeyRewrapper, "rewrap", slow)
    monkeypatch.setattr(deadline, "remaining_s", lambda: invocation_s - spent["s"])


def test_a_run_stops_before_its_deadline_and_the_next_continues_from_the_cursor(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotation = start_rotation(aws, monkeypatch, subjects=250)  # three Scan pages
    with monkeypatch.context() as short:
        # 5 s of invocation, 1 s a subject: the job keeps 4 s spare, so it does two.
        slow_rewraps(short, invocation_s=5.0, per_subject_s=1.0)
        first = run_job()
    assert (first["rewrapped"], first["done"], first["remaining"]) == (2, False, None)
    progress = aws.table("key-rotations").get_item(Key={"target_key_id": rotation.new_key})["Item"]
    assert progress["cursor"] and not progress["done"]

    with monkeypatch.context() as short:
        slow_rewraps(short, invocation_s=150.0, per_subject_s=1.0)  # a third of the rest
        second = run_job()
    assert (second["rewrapped"], second["done"]) == (147, False)
    third = run_job()
    assert (third["rewrapped"], third["already_current"], third["done"]) == (101, 0, True)
    assert {item["kms_key_id"] for item in rotation.items().values()} == {rotation.new_key}


def test_a_run_after_the_rotation_is_done_changes_nothing_and_records_nothing(
    rotation: Rotation,
) -> None:
    run_job()
    before = rotation.items()
    again = run_job()

    assert (again["rewrapped"], again["done"]) == (0, True)
    assert rotation.items() == before
    assert len(key_rotated_entries(rotation.aws)) == 1


def test_a_second_pass_skips_what_the_first_rewrapped(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redelivered run, or one that lost its stored cursor, repeats no re-wrap."""
    run_job()
    rotation.aws.table("key-rotations").delete_item(Key={"target_key_id": rotation.new_key})
    again = run_job()
    assert (again["rewrapped"], again["already_current"], again["done"]) == (0, 12, True)


def test_each_run_that_examined_subjects_is_audited_on_the_operator_chain(
    rotation: Rotation,
) -> None:
    rotation.keyring().destroy("cus_0000")
    run_job()
    (entry,) = key_rotated_entries(rotation.aws)
    assert entry["actor"] == "job:pii-key-rotation"
    assert entry["resource"] == f"kms-key:{rotation.new_key}"
    details = entry["details"]
    assert (details["rewrapped"], details["erased_skipped"], details["done"]) == (11, 1, True)
    assert (details["from_key"], details["to_key"]) == (rotation.old_key, rotation.new_key)


def test_without_a_previous_key_a_subject_on_another_key_keeps_the_rotation_open(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(topology.PII_PREVIOUS_KEY.env_var)
    reset_runtime_caches()
    summary = run_job()
    assert (summary["rewrapped"], summary["other_key"], summary["done"]) == (0, 12, False)
    assert {item["kms_key_id"] for item in rotation.items().values()} == {rotation.old_key}


def test_an_on_demand_run_answers_within_the_admin_routes_wait(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_rewraps(monkeypatch, invocation_s=840.0, per_subject_s=5.0)
    summary = run_job(on_demand=True)
    # 20 s for an on-demand run, 4 s kept spare: four subjects of 5 s each, then it answers.
    assert (summary["rewrapped"], summary["done"]) == (4, False)
