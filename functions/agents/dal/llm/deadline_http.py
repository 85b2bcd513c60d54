"""Keeping the HTTP SDKs' own retries (``openai``, ``anthropic``) inside the time a step
has left.

Both SDKs retry timeouts, 408/409/429 and 5xx with backoff and honour ``Retry-After`` up to
minutes. This transport, under their ``httpx2`` client, caps every attempt's timeouts at the
time left and marks a retryable answer ``x-should-retry: false`` (a header both SDKs obey)
when the wait before the next attempt would not leave room for it, so the caller gets a
ModelUnavailable in time for SQS to retry the step instead of a Lambda timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx2

from agents.models.llm import ModelRequestRejected, ModelUnavailable, ProviderConfigError

# The SDKs sleep at most ~0.5 s then ~1 s between their two retries; this much of a call's
# time is kept for those sleeps, and an attempt with less than MIN_ATTEMPT_S left is not made.
RETRY_SLEEPS_S = 1.5
MIN_ATTEMPT_S = 1.0
RETRIED_STATUSES = frozenset({408, 409, 429})
SDK_MAX_RETRIES = 2

_ENDS_AT: ContextVar[float | None] = ContextVar("llm_call_ends_at", default=None)


@contextmanager
def deadline(timeout_s: float) -> Iterator[float]:
    """Run one SDK call (all its attempts) within ``timeout_s``; yields the seconds that the
    first attempt may take."""
    budget = timeout_s - RETRY_SLEEPS_S
    if budget < MIN_ATTEMPT_S:
        raise ModelUnavailable(f"{timeout_s:.1f} s left: too little for a model call")
    token = _ENDS_AT.set(time.monotonic() + budget)
    try:
        yield budget
    finally:
        _ENDS_AT.reset(token)


class DeadlineTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        ends_at = _ENDS_AT.get()
        if ends_at is None:
            return self._inner.handle_request(request)
        left = ends_at - time.monotonic()
        if left < MIN_ATTEMPT_S:
            raise httpx2.ReadTimeout(
                "the step's time for this model call is spent", request=request
            )
        timeouts = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            kind: left if timeouts.get(kind) is None else min(float(timeouts[kind]), left)
            for kind in ("connect", "read", "write", "pool")
        }
        response = self._inner.handle_request(request)
        if _retryable(response.status_code):
            wait = _retry_after_s(response.headers) or RETRY_SLEEPS_S
            if ends_at - time.monotonic() - wait < MIN_ATTEMPT_S:
                response.headers["x-should-retry"] = "false"
        return response

    def close(self) -> None:
        self._inner.close()


def http_client() -> httpx2.Client:
    return httpx2.Client(transport=DeadlineTransport(httpx2.HTTPTransport()))


def failure(provider: str, status: int | None, detail: str) -> Exception:
    """The domain error for an SDK's failure: ``status`` None is a timeout or no connection."""
    what = f"{provider}: {'no answer' if status is None else f'HTTP {status}'}: {detail[:300]}"
    if status is None or _retryable(status):
        return ModelUnavailable(what)
    if status in (401, 403, 404):  # a wrong key, model or base URL: not the request's fault
        return ProviderConfigError(what)
    return ModelRequestRejected(what)


def _retryable(status: int) -> bool:
    return status in RETRIED_STATUSES or status >= 500


def _retry_after_s(headers: httpx2.Headers) -> float | None:
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:  # an HTTP date: the SDKs honour it, so assume the worst
        return float("inf")
    return None
