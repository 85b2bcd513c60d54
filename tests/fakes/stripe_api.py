"""A small fake of Stripe's HTTP API on loopback, for the SDK to talk to in tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeStripe:
    """Holds the events Stripe would list and every request the SDK made."""

    events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Customer
    undelivered: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, list[str]], str]] = field(default_factory=list)
    url: str = ""

    def list_events(self, query: dict[str, list[str]]) -> dict[str, Any]:
        selected = sorted(self.events, key=lambda e: (-e["created"], e["id"]))
        if query.get("delivery_success") == ["false"]:
            selected = [e for e in selected if e["id"] in self.undelivered]
        if "created[gte]" in query:
            selected = [e for e in selected if e["created"] >= int(query["created[gte]"][0])]
        if "starting_after" in query:
            ids = [e["id"] for e in selected]
            selected = selected[ids.index(query["starting_after"][0]) + 1 :]
        limit = int(query.get("limit", ["10"])[0])
        return {
            "object": "list",
            "url": "/v1/events",
            "data": selected[:limit],
            "has_more": len(selected) > limit,
        }


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            fake.requests.append(("GET", parts.path, query, self.headers.get("Authorization", "")))
            customer_id = parts.path.removeprefix("/v1/customers/")
            if parts.path == "/v1/events":
                self._answer(200, fake.list_events(query))
            elif parts.path.startswith("/v1/customers/") and customer_id in fake.customers:
                self._answer(200, fake.customers[customer_id])
            else:
                self._answer(
                    404, {"error": {"type": "invalid_request_error", "message": "no such path"}}
                )

    return Handler


@contextmanager
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
