"""A PII key rotation as an operator deploys it: ``-c piiKeyGeneration=2`` makes a new key
(the first one leaves the stack, retained) and ``-c piiPreviousKeyArn=...`` grants the old one
to exactly the functions that need it, for exactly what they need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from infra_synth import Synth, refs, render, synthesize
from test_infra_permissions import as_list, role_id, statements

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")

OLD_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.rotating"), piiKeyGeneration="2", piiPreviousKeyArn=OLD_KEY
    )


def old_key_grants(synth: Synth, fn: topology.Function) -> list[dict[str, Any]]:
    return [s for s in statements(synth, role_id(synth, fn)) if OLD_KEY in as_list(s["Resource"])]


def test_a_new_generation_is_a_new_retained_key_and_the_old_one_leaves_the_stack(
    rotating: Synth, synth: Synth
) -> None:
    new = rotating.id(rotating.stack.data.keys[topology.PII_KEY.name])
    old = synth.id(synth.stack.data.keys[topology.PII_KEY.name])
    assert new != old and old not in rotating.resources  # retained in the account, not deleted
    assert rotating.resources[new]["DeletionPolicy"] == "Retain"
    output = rotating.template_json["Outputs"]["PiiKeyArn"]["Value"]
    assert refs(output) == {new}


def test_readers_and_writers_may_only_decrypt_with_the_previous_key(rotating: Synth) -> None:
    for fn in topology.FUNCTIONS:
        found = old_key_grants(rotating, fn)
        if fn.pii == "none":
            assert found == [] or fn.rewraps_pii_keys, fn.name
            continue
        (statement,) = found
        assert as_list(statement["Action"]) == ["kms:Decrypt"], fn.name
        assert statement["Condition"] == {
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["subject_id"]},
            "Null": {"kms:EncryptionContextKeys": "false"},
        }
        env = rotating.props(rotating.stack.functions.functions[fn.name])["Environment"]
        assert env["Variables"]["PII_PREVIOUS_KEY_ID"] == OLD_KEY


def test_the_rotation_job_rewraps_from_the_previous_key_only(rotating: Synth) -> None:
    fn = topology.function("pii-key-rotation")
    new = rotating.id(rotating.stack.data.keys[topology.PII_KEY.name])
    kms = {
        render(s["Resource"]): as_list(s["Action"])
        for s in statements(rotating, role_id(rotating, fn))
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
        and "stack key" not in str(s.get("Sid", ""))
        and rotating.id(rotating.stack.data.key) not in refs(s["Resource"])
    }
    assert kms == {OLD_KEY: ["kms:ReEncryptFrom"], f"<{new}.Arn>": ["kms:ReEncryptTo"]}


def test_a_bad_rotation_context_stops_synth_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="piiPreviousKeyArn: must be a KMS key ARN"):
        synthesize(tmp_path / "a", piiPreviousKeyArn="alias/old-pii")
    with pytest.raises(ValueError, match="piiKeyGeneration: must be a whole number"):
        synthesize(tmp_path / "b", piiKeyGeneration="0")
