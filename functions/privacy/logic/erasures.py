"""An erasure's rules: the pseudonym retained records get, what the verification scan looks for,
and which of its hits the design allows. Pure: no AWS, no clock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from cognitionos.crypto import blind_index, normalise

PSEUDONYM_PREFIX = "anon_"
MIN_NAME_CHARS = 3  # a shorter name would match everywhere: not searched for

# Where the subject's customer id (or blind index) may stay after an erasure, and why.
ALLOWED_STORES: dict[str, str] = {
    "table:subject-keys": "tombstone of the destroyed data key (never re-created)",
    "table:audit": "audit log: immutable, ids only (Art. 5(2), 30)",
    "table:audit-heads": "audit log: the tenant chain's head (ids only)",
    "bucket:audit-anchors": "audit log: daily anchors of the chain heads (ids only)",
    "table:api-keys": "API keys bound to the tenant: access control (revoke to remove)",
}
ALLOWED_PRIVACY_KEYS: dict[str, str] = {
    "REQUEST#": "privacy request records (accountability, Art. 5(2), 12)",
    "CONSENT#": "consent records (proof of consent, Art. 7(1))",
}


def pseudonym(customer_id: str, key: bytes) -> str:
    """The stable stand-in for an erased customer on what is retained: keyed (the blind-index
    key), so it cannot be linked back to the customer id without that secret."""
    return PSEUDONYM_PREFIX + blind_index(customer_id, key)[:32]


@dataclass(frozen=True)
class Needles:
    """What the scan looks for: identifiers (may stay where ALLOWED says) and plaintext
    (never anywhere). Plaintext is held only in memory, never stored or logged."""

    identifiers: tuple[str, ...]
    plaintext: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(
        cls, customer_id: str, blind_indexes: Iterable[str], email: str | None, name: str | None
    ) -> Needles:
        ids = tuple(dict.fromkeys([customer_id, *[b for b in blind_indexes if b]]))
        plain = [normalise(v) for v in (email, name) if v]
        return cls(ids, tuple(p for p in dict.fromkeys(plain) if len(p) >= MIN_NAME_CHARS))


@dataclass(frozen=True)
class Hit:
    store: str
    key: str
    plaintext: bool  # an email or name in the clear, not only an id


def hits_in(store: str, key: str, text: str, needles: Needles) -> Hit | None:
    """Whether the stored record holds one of the needles (plaintext case-insensitively)."""
    if needles.plaintext:
        folded = normalise(text)
        if any(p in folded for p in needles.plaintext):
            return Hit(store, key, True)
    if any(i in text for i in needles.identifiers):
        return Hit(store, key, False)
    return None


def allowed_reason(hit: Hit) -> str | None:
    """Why the design keeps this hit, or None: a leak. Plaintext is never allowed."""
    if hit.plaintext:
        return None
    if hit.store in ALLOWED_STORES:
        return ALLOWED_STORES[hit.store]
    if hit.store == "table:privacy":
        pk = _pk_of(hit.key)
        for prefix, reason in ALLOWED_PRIVACY_KEYS.items():
            if pk.startswith(prefix):
                return reason
    return None


def _pk_of(key: str) -> str:
    try:
        return str(json.loads(key).get("pk") or "")
    except (ValueError, AttributeError):
        return ""


@dataclass(frozen=True)
class ScanResult:
    scanned: int
    allowed: dict[str, int]
    leaks: list[str]
    plaintext_checked: bool

    @property
    def clean(self) -> bool:
        return not self.leaks

    def as_dict(self) -> dict[str, object]:
        return {
            "scanned": self.scanned,
            "allowed": dict(self.allowed),
            "leaks": list(self.leaks),
            "plaintext_checked": self.plaintext_checked,
        }


def classify(hits: Iterable[Hit], scanned: int, plaintext_checked: bool) -> ScanResult:
    """The scan's verdict: allowed hits counted by reason, leaks listed as ``<store> <key>``
    (sorted, once each: a record scanned twice is one leak)."""
    allowed: Counter[str] = Counter()
    leaks: set[str] = set()
    for hit in hits:
        reason = allowed_reason(hit)
        if reason is None:
            leaks.add(f"{hit.store} {hit.key}" + (" (plaintext)" if hit.plaintext else ""))
        else:
            allowed[reason] += 1
    return ScanResult(scanned, dict(sorted(allowed.items())), sorted(leaks), plaintext_checked)


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    """Per-category counts of several passes (a redelivered erasure adds what it newly did)."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return {k: v for k, v in sorted(total.items())}
