"""Alert receivers on loopback: one HTTP server standing in for Slack, PagerDuty and webhook
endpoints, each a path. It records every request and answers from a script per path
(``answer("/slack", 500, 500)`` then 200s), with headers such as ``Retry-After``."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


class Receivers:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.url = ""

    def answer(self, path: str, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """The next answers on ``path``, in order; after them, 200."""
        with self._lock:
            self._scripts[path].extend((s, headers or {}) for s in statuses)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _next(self, path: str) -> tuple[int, dict[str, str]]:
        with self._lock:
            script = self._scripts[path]
            return script.pop(0) if script else (200, {})

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)


def verify_signature(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """What a webhook receiver does with ``X-Cognition-Signature: t=...,v1=...``."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected.hexdigest(), parts["v1"])


@contextmanager
def receivers() -> Iterator[Receivers]:
    state = Receivers()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state._record(
                Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
            )
            status, headers = state._next(self.path)
            payload = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
