"""Ordering versions of one Stripe object without trusting arrival order: pure.

A version key sorts by the event's ``created`` (one-second resolution), then by a status
precedence that breaks ties the way the object's lifecycle runs (``paid`` after ``open``,
``canceled`` after ``active``), then by the content hash so that every order of delivery
picks the same winner. With a Stripe key, a tie is settled by re-fetching the object and
choosing the tied version its current state agrees with (``choose_between``); the re-fetched
object itself is never stored as a version: it may be days newer than the tied second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# Later in a lifecycle = higher. Unknown statuses rank lowest.
STATUS_PRECEDENCE: dict[str, dict[str, int]] = {
    "subscription": {
        "incomplete": 1,
        "trialing": 2,
        "active": 3,
        "past_due": 4,
        "paused": 5,
        "unpaid": 6,
        "incomplete_expired": 7,
        "canceled": 8,
    },
    "invoice": {"draft": 1, "open": 2, "uncollectible": 3, "paid": 4, "void": 4},
    "charge": {"pending": 1, "failed": 2, "succeeded": 2},
    "dispute": {
        "warning_needs_response": 1,
        "needs_response": 1,
        "warning_under_review": 2,
        "under_review": 2,
        "warning_closed": 3,
        "won": 3,
        "lost": 3,
    },
    "checkout_session": {"open": 1, "complete": 2, "expired": 2},
}
CHECKOUT_PAYMENT_PRECEDENCE = {"unpaid": 0, "no_payment_required": 1, "paid": 1, "failed": 1}


def precedence(kind: str, attributes: Mapping[str, Any]) -> int:
    """The tie-break rank of a version (0-999): status first, then a monotonic counter."""
    if kind in ("customer", "discount"):
        return 10 if attributes.get("deleted") else 0
    status_rank = STATUS_PRECEDENCE.get(kind, {}).get(str(attributes.get("status")), 0)
    if kind == "invoice":  # a later payment attempt comes after an earlier one
        return status_rank * 100 + min(int(attributes.get("attempt_count") or 0), 99)
    if kind == "charge":  # refunds only ever grow
        return status_rank * 100 + (50 if attributes.get("amount_refunded") else 0)
    if kind == "checkout_session":
        payment = CHECKOUT_PAYMENT_PRECEDENCE.get(str(attributes.get("payment_status")), 0)
        return status_rank * 10 + payment
    return status_rank


def version_key(created: int, rank: int, content: str) -> str:
    """Sortable as text: ``<created>.<rank>.<content hash>``."""
    return f"{created:011d}.{rank:03d}.{content[:16]}"


def created_of(version: str) -> int:
    return int(version.split(".", 1)[0])


def content_hash(obj: Any) -> str:
    """Equal for equal content, whatever the key order."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_tie(stored: str, incoming: str) -> bool:
    """Two different versions of one second: a re-fetch can settle which came last."""
    return created_of(stored) == created_of(incoming) and stored != incoming


def agreement(attributes: Mapping[str, Any], later: Mapping[str, Any]) -> int:
    """On how many of the fields of ``later`` (an object's later state) a version agrees."""
    return sum(1 for name, value in later.items() if attributes.get(name) == value)


def choose_between(
    candidates: Iterable[tuple[str, Mapping[str, Any]]], later: Mapping[str, Any]
) -> str:
    """Of versions tied in one second, ``(version, attributes)``, the one Stripe's later
    state agrees with on the most fields; the precedence order (the version key) when two
    agree as much. A score per version, not per pair, so the choice among any number of
    candidates is the same whatever order they arrived in."""
    return max(candidates, key=lambda c: (agreement(c[1], later), c[0]))[0]
