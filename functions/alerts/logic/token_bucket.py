"""The token bucket each channel is rate limited by, as arithmetic both limiters share.

A bucket holds at most ``capacity`` tokens (the channel's ``rate_limit_per_minute``) and
refills continuously at ``capacity`` per minute; a notification takes one token. A full
bucket lets a burst of ``capacity`` through, then one every ``60 / capacity`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated_at: float  # Unix seconds


def refilled(bucket: Bucket | None, capacity: int, now: float) -> Bucket:
    """The bucket at ``now``: a new bucket is full."""
    if bucket is None:
        return Bucket(float(capacity), now)
    elapsed = max(0.0, now - bucket.updated_at)
    return Bucket(min(float(capacity), bucket.tokens + elapsed * capacity / 60.0), now)


def take(bucket: Bucket | None, capacity: int, now: float) -> tuple[bool, Bucket]:
    """Whether a token was taken, and the bucket after."""
    current = refilled(bucket, capacity, now)
    if current.tokens >= 1.0:
        return True, Bucket(current.tokens - 1.0, now)
    return False, current


def seconds_until_token(bucket: Bucket, capacity: int) -> float:
    return max(0.0, (1.0 - bucket.tokens) * 60.0 / capacity)
