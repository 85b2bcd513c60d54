"""Plaintext that looks like personal data: emails, phone numbers, names of known subjects.

Pure: values in, findings out. A stored item is walked attribute by attribute, so a finding
names the path it was found at; what it reports of the value is a redacted sample, never the
value. The patterns are tuned against what the stores legitimately hold (Stripe ids,
epoch and ISO timestamps, amounts, hashes, UUIDs, ``v1.<base64url>`` ciphertext): a phone
number needs a ``+`` country code or separators between its digit groups, because a bare run
of digits is as likely an epoch second or an amount as a phone number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["email", "phone", "name", "setting"]

# A subject's name shorter than this is not looked for: "Li" or "Bo" would match everywhere.
MIN_NAME_LENGTH = 4
# A value sealed by cognitionos.crypto: nothing in it can be plaintext.
CIPHERTEXT = re.compile(r"v1\.[A-Za-z0-9_-]{16,}")
# A keyed hash or digest (blind indexes, audit hashes, API key hashes).
HEX_DIGEST = re.compile(r"[0-9a-f]{32,}", re.IGNORECASE)
# Binary stored as base64 (wrapped data keys): a "+" and digits in it are no phone number.
BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")

EMAIL = re.compile(
    r"(?<![\w.%+-])"
    r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}"
    r"(?![\w-])"
)
# "+" country code, then digit groups with optional single separators: +14155550123,
# +1 415 555 0123, +44 (0)20 7946 0958, +33 6 12 34 56 78.
E164 = re.compile(r"(?<![\w+])\+[1-9](?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])")
# National formats: groups separated by a space, dot or dash, the first maybe in
# parentheses: (415) 555-0123, 415-555-0123, 020 7946 0958, 06 12 34 56 78.
NATIONAL = re.compile(
    r"(?<![\w.+/:-])(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,4}(?:[ .-]\d{2,4}){0,3}"
    r"(?![\w/:]|[.-]\d)"
)
E164_DIGITS = range(8, 16)  # E.164: at most 15 digits; 8 is the shortest in real use
NATIONAL_DIGITS = range(9, 13)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOTTED_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


@dataclass(frozen=True)
class Finding:
    """Something that should not be where it is: ``store`` (``table:<name>``,
    ``bucket:<name>``), the item's key or object's key, the attribute path in it, the kind,
    and a redacted sample (for a setting: what was found against what is declared)."""

    store: str
    key: str
    path: str
    kind: Kind
    sample: str

    def as_dict(self) -> dict[str, str]:
        return {
            "store": self.store,
            "key": self.key,
            "path": self.path,
            "kind": self.kind,
            "sample": self.sample,
        }


def redact_email(value: str) -> str:
    """``ada@example.com`` -> ``a***@e***.com``."""
    local, _, domain = value.partition("@")
    labels = domain.split(".")
    host = labels[0][:1] + "***" if labels[0] else "***"
    return f"{local[:1]}***@{host}.{labels[-1]}"


def redact_phone(value: str) -> str:
    """Every digit but the last two starred, separators kept: ``+1 415 555 0123`` ->
    ``+* *** *** **23``."""
    total = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for char in value:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - 2 else "*")
        else:
            out.append(char)
    return "".join(out)


def redact_name(value: str) -> str:
    """``Jenny Rosen`` -> ``J*** R***``."""
    return " ".join(f"{word[:1]}***" for word in value.split())


def emails(text: str) -> list[str]:
    return [m.group(0) for m in EMAIL.finditer(text)]


def phone_numbers(text: str) -> list[str]:
    """Phone-number-looking runs of ``text`` (see the module's note on bare digits)."""
    found = []
    for match in E164.finditer(text):
        if sum(c.isdigit() for c in match.group(0)) in E164_DIGITS:
            found.append(match.group(0))
    for match in NATIONAL.finditer(text):
        candidate = match.group(0)
        if _is_national_phone(candidate) and not any(candidate in f for f in found):
            found.append(candidate)
    return found


def _is_national_phone(candidate: str) -> bool:
    if sum(c.isdigit() for c in candidate) not in NATIONAL_DIGITS:
        return False
    if ISO_DATE.search(candidate) or DOTTED_DATE.fullmatch(candidate) or IPV4.fullmatch(candidate):
        return False
    groups = re.findall(r"\d+", candidate)
    if len(groups) < 2:
        return False
    # 1 234 567 890, 1.234.567.890: thousands separators of an amount, not a phone number.
    if all(len(group) == 3 for group in groups[1:]) and len(groups) > 2:
        return False
    separators = set(re.findall(r"[ .-]", candidate))
    return len(separators) <= 1 or "(" in candidate  # "415-555 0123" mixes: not a number


@dataclass(frozen=True)
class KnownNames:
    """Names of known subjects (decrypted from where they are sealed), to look for in
    plaintext elsewhere: case-insensitive, on word boundaries, any whitespace between words."""

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, names: Iterable[str]) -> KnownNames:
        cleaned = {" ".join(name.split()) for name in names}
        usable = sorted(n for n in cleaned if len(n) >= MIN_NAME_LENGTH and not n.isdigit())
        return cls(
            tuple(
                re.compile(
                    r"(?<!\w)" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)",
                    re.IGNORECASE,
                )
                for name in usable
            )
        )

    def __len__(self) -> int:
        return len(self.patterns)

    def found_in(self, text: str) -> list[str]:
        return [m.group(0) for p in self.patterns for m in p.finditer(text)]


NO_NAMES = KnownNames(())


def findings_in_value(
    store: str, key: str, path: str, text: str, names: KnownNames = NO_NAMES
) -> list[Finding]:
    """What one string value holds that looks like personal data."""
    if any(p.fullmatch(text) for p in (CIPHERTEXT, HEX_DIGEST, BASE64_BLOB)):
        return []
    found = [Finding(store, key, path, "email", redact_email(e)) for e in emails(text)]
    found += [Finding(store, key, path, "phone", redact_phone(p)) for p in phone_numbers(text)]
    found += [Finding(store, key, path, "name", redact_name(n)) for n in names.found_in(text)]
    return found


def findings_in_record(
    store: str, key: str, text: str, names: KnownNames = NO_NAMES
) -> list[Finding]:
    """What a stored record (an item as JSON, an object's text) holds that looks like
    personal data, each finding at the path of its string (``$`` for a non-JSON object).
    Numbers are not looked at: amounts, counts and epoch seconds are numbers."""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        return findings_in_value(store, key, "$", text, names)
    return [
        finding
        for path, value in _strings(parsed, "$")
        for finding in findings_in_value(store, key, path, value, names)
    ]


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield from _embedded(value, path)
    elif isinstance(value, dict):
        for name, inner in value.items():
            yield from _strings(inner, f"{path}.{name}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{index}]")


def _embedded(value: str, path: str) -> Iterator[tuple[str, str]]:
    """A string that is itself JSON (a stored payload) is walked too, else it is the leaf."""
    stripped = value.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            inner = json.loads(value)
        except ValueError:
            pass
        else:
            yield from _strings(inner, path)
            return
    yield path, value
