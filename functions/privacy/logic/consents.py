"""Consent records (GDPR Article 7): the rules, with no I/O.

A subject's consents are an append-only log: each grant or withdrawal is a new record, none
is ever changed. What the subject consents to now is, per purpose, the latest record of it;
"latest" is by the time the API recorded it, ties (the same microsecond) by the consent id,
so every reader orders the same records the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

# A purpose is a short slug: lower case, digits and underscores, starting with a letter.
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
# A notice version names the privacy notice the subject was shown: "2026-01", "v3.2", ...
NOTICE_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
# An Idempotency-Key: what a client library generates (a UUID, a ULID, a hash) fits.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,255}$"
PROOF_MAX_CHARS = 2000

# How the subject gave (or withdrew) consent.
Method = Literal["web_form", "in_app", "api", "email", "verbal", "paper"]
METHODS: tuple[str, ...] = get_args(Method)
METHOD_MEANINGS = {
    "web_form": "ticked or unticked a box on a web form",
    "in_app": "a setting or prompt inside the product",
    "api": "the tenant's own system, through this API, on the subject's instruction",
    "email": "the subject wrote an email",
    "verbal": "the subject said so on a call or in person (record who took it in `proof`)",
    "paper": "a signed form",
}

CONSENT_ID_PREFIX = "con_"
IDEMPOTENCY_WINDOW_S = 24 * 3600  # a retry with the same key within a day replays the record


@dataclass(frozen=True)
class ConsentRecord:
    """One grant or withdrawal, as recorded. ``proof`` is free text the caller gave (sealed
    at rest); None when none was given or the subject was erased since."""

    consent_id: str
    customer_id: str
    purpose: str
    granted: bool
    notice_version: str
    method: str
    time: str
    proof: str | None = None

    @property
    def order(self) -> tuple[str, str]:
        return (self.time, self.consent_id)

    @property
    def sort_key(self) -> str:
        return sort_key(self.time, self.consent_id)


@dataclass(frozen=True)
class CurrentConsent:
    granted: bool
    notice_version: str
    time: str


def new_consent_id() -> str:
    return f"{CONSENT_ID_PREFIX}{uuid.uuid4().hex}"


def record_time(moment: datetime) -> str:
    """ISO-8601 UTC to the microsecond (``2026-03-01T09:30:00.250000Z``): a grant and its
    withdrawal a moment later sort in the order they were made, as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sort_key(time: str, consent_id: str) -> str:
    """The record's sort key in its subject's partition: time first, so a Query is history."""
    return f"{time}#{consent_id}"


def history_of(records: Iterable[ConsentRecord]) -> list[ConsentRecord]:
    """Every record, oldest first."""
    return sorted(records, key=lambda r: r.order)


def current_of(records: Iterable[ConsentRecord]) -> dict[str, CurrentConsent]:
    """Per purpose, the latest record's answer: what the subject consents to now."""
    latest: dict[str, ConsentRecord] = {}
    for record in records:
        seen = latest.get(record.purpose)
        if seen is None or record.order > seen.order:
            latest[record.purpose] = record
    return {
        purpose: CurrentConsent(r.granted, r.notice_version, r.time)
        for purpose, r in sorted(latest.items())
    }


def idempotency_digest(secret: bytes, customer_id: str, key: str) -> str:
    """Where a key's first record is remembered: keyed, so the table shows no caller text."""
    return _mac(secret, ["idempotency-key", customer_id, key])


def request_fingerprint(secret: bytes, fields: dict[str, object]) -> str:
    """What a retry must repeat: a key sent again with a different request is refused. Keyed,
    as the fields may hold free text (``proof``)."""
    return _mac(secret, ["consent-request", fields])


def _mac(secret: bytes, value: object) -> str:
    if not secret:
        raise ValueError("an idempotency digest needs a non-empty secret")
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
