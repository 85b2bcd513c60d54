"""What a delivery attempt's answer means, and when to try again.

A 2xx is delivered. A 5xx, a 429 or no answer at all (timeout, refused connection) is
retried: after exponential backoff with full jitter (a random delay between 0 and
``base * 2**(attempt - 1)``, capped), or after the receiver's ``Retry-After`` when it names a
longer wait. Any other 4xx is the receiver refusing this notification: retrying would get
the same answer, so it is not retried.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

Verdict = Literal["sent", "retry", "failed"]
MAX_DELAY_S = 900  # SQS's largest message delay: a digest can be queued no further ahead
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    error: str | None = None
    retry_after_s: float | None = None  # what the receiver asked for, if anything


def classify(status: int | None, error: str | None, retry_after: str | None, now: float) -> Outcome:
    """``status`` None: no HTTP answer (``error`` says why)."""
    if status is None:
        return Outcome("retry", _short(error or "no answer"))
    if 200 <= status < 300:
        return Outcome("sent")
    reason = _short(f"HTTP {status}" + (f": {error}" if error else ""))
    if status == 429 or status >= 500:
        return Outcome("retry", reason, parse_retry_after(retry_after, now))
    return Outcome("failed", reason)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait: ``Retry-After`` as delta-seconds or an HTTP date; None if absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.fromtimestamp(now, UTC)).total_seconds())


def backoff_s(
    attempt: int,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> int:
    """Whole seconds until attempt ``attempt + 1``: full jitter, never sooner than
    ``retry_after_s``, never more than ``MAX_DELAY_S``; at least 1 s."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    jitter = (rng or random.SystemRandom()).uniform(0, ceiling)
    delay = max(jitter, retry_after_s or 0.0)
    return int(min(MAX_DELAY_S, max(1, math.ceil(delay))))


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
