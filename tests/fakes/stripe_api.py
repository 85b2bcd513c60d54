"""A small fake of Stripe's HTTP API on loopback, for the SDK to talk to in tests."""

from __future__ import annotations

import json
import re
import threading
import time
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
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Customer
    undelivered: set[str] = field(default_factory=set)
    # Objects by id, as GET /v1/<kind>s/{id} answers them; subscriptions list in this order.
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]], str]] = field(default_factory=list)
    stripe_versions: list[str | None] = field(default_factory=list)  # per request, in order
    delay_s: float = 0.0  # answer every GET this much later (a slow Stripe)
    url: str = ""
    meter_events: list[dict[str, Any]] = field(default_factory=list)  # counted, in order
    failures_left: int = 0  # answer this many more POSTs with a 500
    # Idempotency-Key -> (request params, status, body): Stripe v1 saves the first response
    # of a key once the endpoint starts, 500s included, and replays it for 24 h.
    idempotent: dict[str, tuple[dict[str, list[str]], int, dict[str, Any]]] = field(
        default_factory=dict
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int) -> None:
        self.failures_left = count

    def gets(self, path: str) -> int:
        """How many times ``path`` was read."""
        return sum(1 for method, p, _, _ in self.requests if (method, p) == ("GET", path))

    def forget(self) -> None:
        """Nothing served, nothing asked: as a fresh fake (the server keeps running)."""
        for store in (self.customers, self.subscriptions, self.invoices, self.coupons):
            store.clear()
        self.requests.clear()
        self.stripe_versions.clear()

    def post(
        self, path: str, form: dict[str, list[str]], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, body and extra headers for a POST, as Stripe would answer it."""
        with self.lock:
            if idempotency_key and idempotency_key in self.idempotent:
                params, status, body = self.idempotent[idempotency_key]
                if params != form:
                    return (
                        400,
                        _error(
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                            kind="idempotency_error",
                        ),
                        {},
                    )
                return status, body, {"Idempotent-Replayed": "true"}
            if path != "/v1/billing/meter_events":
                return 404, _error("Unrecognized request URL (POST: " + path + ")"), {}
            problem = _meter_event_problem(form)
            if problem:  # failed validation: nothing saved for the key
                return 400, _error(problem[1], param=problem[0]), {}
            if self.failures_left > 0:
                self.failures_left -= 1
                status, body = 500, _error("An unknown error occurred", kind="api_error")
            else:
                status, body = self._create_meter_event(form)
            if idempotency_key:
                self.idempotent[idempotency_key] = (form, status, body)
            headers = {"Stripe-Should-Retry": "false"} if status == 400 else {}
            return status, body, headers

    def _create_meter_event(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        identifier = form.get("identifier", [f"fake_{len(self.meter_events)}"])[0]
        if any(e["identifier"] == identifier for e in self.meter_events):
            # What Stripe answers (langfuse/langfuse#16292), with Stripe-Should-Retry: false.
            return 400, _error(f"An event already exists with identifier {identifier}.")
        event = {
            "object": "billing.meter_event",
            "created": int(time.time()),
            "event_name": form["event_name"][0],
            "identifier": identifier,
            "livemode": False,
            "payload": {
                key[len("payload[") : -1]: values[0]
                for key, values in form.items()
                if key.startswith("payload[")
            },
            "timestamp": int(form.get("timestamp", [str(int(time.time()))])[0]),
        }
        self.meter_events.append(event)
        return 200, event

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
        """``GET /v1/{customers,subscriptions,invoices,coupons}/{id}``: the object, or
        Stripe's 404."""
        stores = {
            "customers": ("customer", self.customers),
            "subscriptions": ("subscription", self.subscriptions),
            "invoices": ("invoice", self.invoices),
            "coupons": ("coupon", self.coupons),
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


METER_EVENT_NAME = re.compile(r"[A-Za-z0-9_:-]{1,100}")
MAX_AGE_S = 35 * 24 * 3600
MAX_AHEAD_S = 300


def _error(
    message: str, *, kind: str = "invalid_request_error", param: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param:
        error["param"] = param
    return {"error": error}


def _meter_event_problem(form: dict[str, list[str]]) -> tuple[str, str] | None:
    """(param, message) for the first field Stripe would refuse, else None."""
    name = form.get("event_name", [""])[0]
    if not METER_EVENT_NAME.fullmatch(name):
        return "event_name", "Missing or invalid event_name."
    if not form.get("payload[stripe_customer_id]", [""])[0].startswith("cus_"):
        return "payload[stripe_customer_id]", "Missing payload[stripe_customer_id]."
    if not re.fullmatch(r"-?\d+", form.get("payload[value]", [""])[0]):
        return "payload[value]", "payload[value] must be a string holding an integer."
    identifier = form.get("identifier", ["x"])[0]
    if not 1 <= len(identifier) <= 100:
        return "identifier", "identifier must be 1-100 characters."
    if "timestamp" in form:
        raw, now = form["timestamp"][0], int(time.time())
        if not raw.isdigit() or not now - MAX_AGE_S <= int(raw) <= now + MAX_AHEAD_S:
            return "timestamp", "timestamp must be within the past 35 days or 5 minutes ahead."
    return None


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            fake.requests.append(("GET", parts.path, query, self.headers.get("Authorization", "")))
            fake.stripe_versions.append(self.headers.get("Stripe-Version"))
            if fake.delay_s:
                time.sleep(fake.delay_s)
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

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            fake.requests.append(("POST", path, form, self.headers.get("Authorization", "")))
            fake.stripe_versions.append(self.headers.get("Stripe-Version"))
            status, body, headers = fake.post(path, form, self.headers.get("Idempotency-Key"))
            self._answer(status, body, headers)

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
