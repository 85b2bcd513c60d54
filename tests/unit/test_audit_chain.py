"""The pure audit verifier: every single tampering of a chain is found at its first seq."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognitionos.audit.chain import GENESIS, Draft, Head, canonical, entry_hash, verify
from tests.audit_chains import CHAIN, TAMPERINGS, build_chain, draft, head_of

TAMPERING_TRIALS = 1000
CHAIN_LENGTH = 60


def test_an_untouched_chain_is_valid_against_its_head_and_anchors() -> None:
    entries = build_chain(CHAIN_LENGTH)
    anchors = [Head(e["seq"], e["hash"]) for e in entries[9::10]]
    result = verify(entries, CHAIN, head=head_of(entries), anchors=anchors)
    assert result.as_dict() == {"valid": True, "checked": CHAIN_LENGTH, "first_invalid_seq": None}


def test_1000_random_single_tamperings_are_all_found_at_the_first_seq_they_break() -> None:
    rng = random.Random(15)
    pristine = build_chain(CHAIN_LENGTH)
    head = head_of(pristine)
    found = 0
    for _ in range(TAMPERING_TRIALS):
        entries = copy.deepcopy(pristine)
        expected = rng.choice(TAMPERINGS)(entries, rng)
        result = verify(entries, CHAIN, head=head)
        assert not result.valid
        assert result.first_invalid_seq == expected, result.reason
        found += 1
    assert found == TAMPERING_TRIALS


def test_a_rewrite_that_recomputes_every_later_hash_is_caught_by_an_anchor() -> None:
    entries = build_chain(30)
    anchors = [Head(10, entries[9]["hash"]), Head(20, entries[19]["hash"])]
    forged = entries[:14]
    prev = forged[-1]["hash"]
    for seq in range(15, 31):  # entry 15 changed, everything after re-hashed, head moved
        entry = Draft(**{**draft(seq).__dict__, "actor": "mallory"}).at(seq, prev)
        prev = entry["hash"]
        forged.append(entry)
    assert verify(forged, CHAIN, head=head_of(forged)).valid  # without anchors: undetectable
    result = verify(forged, CHAIN, head=head_of(forged), anchors=anchors)
    assert (result.valid, result.first_invalid_seq) == (False, 11)  # after the last good anchor


def test_a_truncated_chain_shows_against_its_head() -> None:
    entries = build_chain(10)
    result = verify(entries[:7], CHAIN, head=head_of(entries))
    assert (result.valid, result.first_invalid_seq) == (False, 8)


def test_the_hash_covers_ciphertext_not_plaintext_so_erasure_keeps_it() -> None:
    entry = draft(5).at(1, GENESIS)
    assert entry["sealed"] == {"note": "v1.ciphertext5"}
    assert entry_hash(entry) == entry["hash"]  # nothing but the stored entry is needed


def test_an_unknown_action_or_a_float_is_refused_when_drafted() -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        Draft(**{**draft(1).__dict__, "action": "billing.evnt.processed"})
    with pytest.raises(ValueError, match="float"):
        Draft(**{**draft(1).__dict__, "details": {"amount": 1.5}})
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(2, 25),
    choice=st.integers(0, len(TAMPERINGS) - 1),
    seed=st.integers(0, 2**32),
)
def test_any_single_tampering_of_any_chain_is_found(length: int, choice: int, seed: int) -> None:
    entries = build_chain(length)
    head = head_of(entries)
    expected = TAMPERINGS[choice](entries, random.Random(seed))
    result = verify(entries, CHAIN, head=head)
    assert (result.valid, result.first_invalid_seq) == (False, expected)


def test_the_offline_verifier_needs_only_the_file(tmp_path: Path) -> None:
    entries = build_chain(12)
    bundle = {
        "format": "cognitionos-audit-export/1",
        "chain": CHAIN,
        "from_seq": 1,
        "complete": True,
        "head": {"seq": 12, "hash": entries[-1]["hash"]},
        "anchors": [{"chain": CHAIN, "seq": 6, "hash": entries[5]["hash"]}],
        "entries": entries,
    }
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle))
    entries[3]["resource"] = "stripe_event:evt_forged"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle))
    # -I: isolated, no PYTHONPATH but the kernel layer; boto3 blocked to prove no AWS is used
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None; "
        "from cognitionos.audit.__main__ import main; raise SystemExit(main(sys.argv[1:]))"
    )
    kernel = str(Path(__file__).resolve().parents[2] / "layers" / "kernel" / "python")
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, "verify", str(path)],
            capture_output=True,
            text=True,
            check=False,
            env={"PYTHONPATH": kernel},
        )
        for path in (good, bad)
    ]
    assert [r.returncode for r in runs] == [0, 1]
    assert json.loads(runs[0].stdout)["valid"] is True
    assert json.loads(runs[1].stdout)["first_invalid_seq"] == 4
