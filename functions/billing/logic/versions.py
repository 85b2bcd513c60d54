"""Ordering versions of one Stripe object without trusting arrival order: pure.

A version key sorts by the event's ``created`` (one-second resolution), then by a status
precedence that breaks ties the way the object's lifecycle runs (``paid`` after ``open``,
``canceled`` after ``active``), then by the content hash so that every order of delivery
picks the same winner. A version re-fetched from Stripe to break a tie outranks every
version delivered in the same second: it is Stripe's own answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

REFETCHED_RANK = 999

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


def precedence(kind: str, attributes: Mapping[str, Any], refetched: bool = False) -> int:
    """The tie-break rank of a version (0-999): status first, then a monotonic counter."""
    if refetched:
        return REFETCHED_RANK
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
    """Two different versions delivered in the same second: a re-fetch can settle it."""
    return created_of(stored) == created_of(incoming) and stored != incoming
