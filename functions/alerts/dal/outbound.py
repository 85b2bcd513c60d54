"""Outbound HTTP to alert channels: one client, SSRF-checked, with timeouts that fit.

Each send resolves the URL's host again and checks every address (``logic/targets.py``), then
connects to the checked address itself, with the URL's host as the TLS server name and the
``Host`` header: the address the guard approved is the one the request reaches, so a DNS
answer changed between check and connect (rebinding) cannot send it elsewhere. No redirect
is followed (a 3xx is a receiver's answer like any other 4xx-or-worse).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError

from alerts.logic.targets import Target, TargetRefused, checked_target
from cognitionos.errors import Unprocessable

# A send must finish well inside the dispatcher's 30 s, a batch of several included.
TIMEOUT = urllib3.Timeout(connect=3.0, read=5.0)
MAX_ERROR_BODY = 200


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer
    error: str | None = None
    retry_after: str | None = None


def resolve(host: str, port: int) -> Sequence[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def check(url: str, *, allow_loopback: bool) -> Target:
    """The target, or TargetRefused: what a channel's creation and every send call."""
    return checked_target(url, resolve, allow_loopback=allow_loopback)


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_loopback: bool) -> Answer:
    """POST ``body``; a refused target raises TargetRefused (not retried: the caller
    records it as failed)."""
    target = check(url, allow_loopback=allow_loopback)
    address = target.addresses[0]
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=TIMEOUT,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=TIMEOUT, retries=False)
    host_header = target.host if target.port in {80, 443} else f"{target.host}:{target.port}"
    try:
        with pool:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={
                    "Host": host_header,
                    "Content-Type": "application/json",
                    "User-Agent": "CognitionOS-Alerts/1",
                    **headers,
                },
                redirect=False,
                assert_same_host=False,
            )
    except HTTPError as exc:
        return Answer(None, f"{type(exc).__name__}: no answer from {target.host}")
    detail = response.data[:MAX_ERROR_BODY].decode("utf-8", "replace").strip() or None
    ok = 200 <= response.status < 300
    return Answer(response.status, None if ok else detail, response.headers.get("Retry-After"))


def check_config_targets(channel_type: str, config: Any, *, allow_loopback: bool) -> None:
    """Unprocessable (422) naming the field if a channel's URL is not a target it may have."""
    fields = {"slack": "webhook_url", "webhook": "url", "pagerduty": "events_url"}
    name = fields.get(channel_type)
    url = getattr(config, name, None) if name else None
    if url is None:
        return
    try:
        check(url, allow_loopback=allow_loopback)
    except TargetRefused as exc:
        raise Unprocessable(f"config.{name}: {exc}") from None
