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
    """Holds the events and objects Stripe would serve and every request the SDK made."""

    events: list[dict[str, Any]] = field(default_factory=list)
    undelivered: set[str] = field(default_factory=set)
    # Objects by id, as GET /v1/<kind>s/{id} answers them; subscriptions list in this order.
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
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

    def list_subscriptions(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """Like Stripe: canceled ones only with ``status=all`` or ``status=canceled``."""
        status = query.get("status", [None])[0]
        selected = [
            sub
            for sub in self.subscriptions.values()
            if status == "all"
            or sub.get("status") == status
            or (status is None and sub.get("status") != "canceled")
        ]
        if "starting_after" in query:
            ids = [sub["id"] for sub in selected]
            selected = selected[ids.index(query["starting_after"][0]) + 1 :]
        limit = int(query.get("limit", ["10"])[0])
        return {
            "object": "list",
            "url": "/v1/subscriptions",
            "data": selected[:limit],
            "has_more": len(selected) > limit,
        }

    def find(self, path: str) -> tuple[int, dict[str, Any]] | None:
        """``GET /v1/{customers,subscriptions,invoices}/{id}``: the object, or Stripe's 404."""
        stores = {
            "customers": ("customer", self.customers),
            "subscriptions": ("subscription", self.subscriptions),
            "invoices": ("invoice", self.invoices),
        }
        match path.strip("/").split("/"):
            case ["v1", plural, object_id] if plural in stores:
                kind, store = stores[plural]
            case _:
                return None
        if object_id in store:
            return 200, store[object_id]
        return 404, {
            "error": {
                "code": "resource_missing",
                "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
                "message": f"No such {kind}: '{object_id}'",
                "param": "id",
                "type": "invalid_request_error",
            }
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
            found = fake.find(parts.path)
            if parts.path == "/v1/events":
                self._answer(200, fake.list_events(query))
            elif parts.path == "/v1/subscriptions":
                self._answer(200, fake.list_subscriptions(query))
            elif found is not None:
                self._answer(*found)
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
