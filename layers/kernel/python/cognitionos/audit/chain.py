"""Audit hash chains, pure: the canonical form of an entry, its hash, and verification.

One chain per tenant (``tenant:<cus_...>``) and one for operators (``operators``). Entry
``seq`` N (1, 2, ...) carries ``prev_hash``, the hash of entry N-1 (``GENESIS`` for N = 1), and
``hash`` = SHA-256 over the canonical JSON of every other field, ciphertext of sealed personal
details included, never their plaintext: erasing a subject (destroying its data key) leaves
every hash as it was, so the chain still verifies.

No AWS, no boto3: ``python -m cognitionos.audit verify BUNDLE`` uses only this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cognitionos.audit.actions import ACTIONS

FORMAT = 1
GENESIS = "0" * 64
OPERATORS_CHAIN = "operators"
TENANT_CHAIN_PREFIX = "tenant:"
# What a hash covers, in the canonical form (``hash`` itself excluded).
HASHED_FIELDS = (
    "v",
    "chain",
    "seq",
    "prev_hash",
    "event_id",
    "time",
    "actor",
    "action",
    "resource",
    "tenant_id",
    "subject",
    "details",
    "sealed",
)
_DOMAIN = b"cognitionos-audit-v1\n"  # no other SHA-256 input of ours starts like this


def chain_of(tenant_id: str | None) -> str:
    """The chain an event belongs to: its tenant's, or the operators' when it has none."""
    return f"{TENANT_CHAIN_PREFIX}{tenant_id}" if tenant_id else OPERATORS_CHAIN


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: one byte string per value.

    Only str, int, bool, None, lists and string-keyed objects: a float has no single
    spelling across languages, so it is refused rather than hashed.
    """
    _require_canonical(value, "entry")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _require_canonical(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _require_canonical(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            _require_canonical(item, f"{where}.{key}")
        return
    raise ValueError(f"{where} is a {type(value).__name__}; audit details hold str, int, bool")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the entry's hashed fields in canonical form."""
    body = {name: entry.get(name) for name in HASHED_FIELDS}
    return hashlib.sha256(_DOMAIN + canonical(body)).hexdigest()


@dataclass(frozen=True)
class Draft:
    """What a writer says happened; the chain position (seq, prev_hash) is added on append."""

    action: str
    actor: str
    resource: str
    tenant_id: str | None
    event_id: str
    time: str
    details: dict[str, Any]
    sealed: dict[str, str]  # field -> ciphertext token (cognitionos.crypto)
    subject: str | None  # whose data key sealed ``sealed``

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")
        for name in ("actor", "resource", "event_id", "time"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"an audit entry's {name} must be a non-empty string")
        if self.sealed and not self.subject:
            raise ValueError("sealed audit details need the subject whose key sealed them")
        overlap = set(self.details) & set(self.sealed)
        if overlap:
            raise ValueError(f"audit details {sorted(overlap)} are both plain and sealed")
        canonical(self.details)
        canonical(self.sealed)

    @property
    def chain(self) -> str:
        return chain_of(self.tenant_id)

    def at(self, seq: int, prev_hash: str) -> dict[str, Any]:
        """The entry at ``seq`` after ``prev_hash``, with its hash."""
        entry: dict[str, Any] = {
            "v": FORMAT,
            "chain": self.chain,
            "seq": seq,
            "prev_hash": prev_hash,
            **{k: v for k, v in asdict(self).items()},
        }
        entry["hash"] = entry_hash(entry)
        return entry


@dataclass(frozen=True)
class Head:
    """A chain's last entry as its head record (or an anchor) states it."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Verification:
    valid: bool
    checked: int
    first_invalid_seq: int | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "checked": self.checked,
            "first_invalid_seq": self.first_invalid_seq,
        }


def verify(
    entries: Iterable[Mapping[str, Any]],
    chain: str,
    *,
    head: Head | None = None,
    anchors: Sequence[Head] = (),
    from_seq: int = 1,
    prev_hash: str = GENESIS,
) -> Verification:
    """Check ``entries`` (as stored, in key order) form ``chain`` from ``from_seq``.

    Entry k must have seq k, the chain's name, a known action, ``prev_hash`` equal to entry
    k-1's hash and a hash that recomputes. ``head`` (the head record) and ``anchors`` (heads
    written to S3 under Object Lock) must agree with what was read: a missing tail shows
    there. A change, deletion, insertion or reordering is reported at the first seq it makes
    wrong; a rewrite that recomputed every later hash can only be caught by an anchor, and
    is reported at the first seq after the last anchor that still matches.
    """
    expected = from_seq
    previous = prev_hash
    hashes: dict[int, str] = {}
    for entry in entries:
        problem = _entry_problem(entry, chain, expected, previous)
        if problem:
            return Verification(False, len(hashes), expected, problem)
        hashes[expected] = previous = str(entry["hash"])
        expected += 1
    return _against_anchors(hashes, from_seq, anchors) or _against_head(hashes, from_seq, head)


def _against_anchors(
    hashes: dict[int, str], from_seq: int, anchors: Sequence[Head]
) -> Verification | None:
    last = from_seq + len(hashes) - 1
    matched = from_seq - 1
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq < from_seq:
            continue
        if anchor.seq > last:
            reason = f"anchored seq {anchor.seq} is missing"
            return Verification(False, len(hashes), last + 1, reason)
        if hashes[anchor.seq] != anchor.hash:
            reason = f"the entries up to seq {anchor.seq} differ from their anchor"
            return Verification(False, len(hashes), matched + 1, reason)
        matched = anchor.seq
    return None


def _against_head(hashes: dict[int, str], from_seq: int, head: Head | None) -> Verification:
    checked = len(hashes)
    last = from_seq + checked - 1
    if head is None or (head.seq == last and hashes.get(head.seq, head.hash) == head.hash):
        return Verification(True, checked, None)
    if head.seq > last:
        return Verification(False, checked, last + 1, f"the head is at seq {head.seq}")
    if head.seq < last:
        return Verification(False, checked, head.seq + 1, "entries beyond the head")
    return Verification(False, checked, head.seq, "the head's hash differs")


def _entry_problem(
    entry: Mapping[str, Any], chain: str, expected_seq: int, prev_hash: str
) -> str | None:
    checks = (
        (entry.get("seq") == expected_seq, f"expected seq {expected_seq}"),
        (entry.get("chain") == chain, "an entry of another chain"),
        (entry.get("v") == FORMAT and entry.get("action") in ACTIONS, "unknown format or action"),
        (entry.get("prev_hash") == prev_hash, "prev_hash is not the previous entry's hash"),
    )
    for holds, problem in checks:
        if not holds:
            return problem
    try:
        recomputed = entry_hash(entry)
    except ValueError as error:
        return f"not canonical: {error}"
    return None if entry.get("hash") == recomputed else "the hash does not match the entry"


def verify_bundle(bundle: Mapping[str, Any]) -> Verification:
    """Verify an export (``GET /v1/audit/export``): its entries against its anchors and head."""
    if not isinstance(bundle, Mapping) or bundle.get("format") != "cognitionos-audit-export/1":
        raise ValueError("not an audit export (format cognitionos-audit-export/1)")
    chain = str(bundle["chain"])
    entries = list(bundle.get("entries") or [])
    from_seq = int(bundle.get("from_seq") or 1)
    prev = GENESIS if from_seq == 1 else str(bundle.get("prev_hash"))
    head = bundle.get("head")
    anchors = [Head(int(a["seq"]), str(a["hash"])) for a in bundle.get("anchors") or []]
    for anchor in bundle.get("anchors") or []:
        if anchor.get("chain") != chain:
            raise ValueError(f"an anchor of chain {anchor.get('chain')!r} in {chain}'s export")
    return verify(
        entries,
        chain,
        head=Head(int(head["seq"]), str(head["hash"])) if head and bundle.get("complete") else None,
        anchors=anchors,
        from_seq=from_seq,
        prev_hash=prev,
    )
