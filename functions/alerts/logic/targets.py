"""The SSRF guard: which URLs a channel may post to.

In AWS only ``https`` URLs whose host resolves to public addresses only: no private, loopback,
link-local (the instance metadata endpoint 169.254.169.254), shared, multicast or reserved
address. The check runs at creation and again right before each send, on the addresses the
send then connects to, so a DNS answer that changed since (rebinding) cannot reach inside.
With ``COGNITION_ALLOW_LOOPBACK_TARGETS=1`` (the local runner) a loopback address is allowed
too, over ``http`` or ``https``; private addresses stay refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Sequence[str]]  # host, port -> IP addresses
MAX_URL = 2048


class TargetRefused(ValueError):
    """A URL a channel may not post to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]  # every address the host resolved to, all allowed


def checked_target(url: str, resolve: Resolver, *, allow_loopback: bool) -> Target:
    """The URL, parsed and resolved, or TargetRefused naming the problem."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise TargetRefused(f"the URL must be text of at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("the URL must be an absolute https:// URL")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from None
    try:
        addresses = tuple(dict.fromkeys(resolve(parts.hostname, port)))
    except (OSError, UnicodeError):  # UnicodeError: a label IDNA cannot encode (too long)
        raise TargetRefused(f"the host {parts.hostname!r} does not resolve") from None
    if not addresses:
        raise TargetRefused(f"the host {parts.hostname!r} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global or ip.is_multicast:
            raise TargetRefused(
                f"the host {parts.hostname!r} resolves to {address}, which is not a public address"
            )
    loopback = all(ipaddress.ip_address(a).is_loopback for a in addresses)
    if parts.scheme == "http" and not (allow_loopback and loopback):
        raise TargetRefused("the URL must use https")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(parts.scheme, parts.hostname, port, path, addresses)
