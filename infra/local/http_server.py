"""Loopback HTTP servers: the API (API Gateway in front of the functions) and the plumbing
shared with the Lambda Invoke API server."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from infra.local.apigw import (
    NOT_FOUND,
    HttpRequest,
    HttpResponse,
    RouteTable,
    build_event,
    json_response,
    map_response,
    new_request_id,
)
from infra.local.workers import Workers

log = logging.getLogger("infra.local")

App = Callable[[HttpRequest], HttpResponse]
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
# API Gateway's payload limit: a larger request never reaches a function. Anything smaller
# does, and the function itself refuses what is too large for it (the webhook's 4 MiB cap).
MAX_BODY_BYTES = 10 * 1024 * 1024
TOO_LARGE = json_response(413, {"message": "Request Entity Too Large"})


class BadRequest(ValueError):
    pass


class TooLarge(ValueError):
    """The body is over ``MAX_BODY_BYTES``; raised before the excess is read."""


class LocalHttpServer(ThreadingHTTPServer):
    """A threaded server on ``host:port`` (0: any free port) that hands requests to ``app``."""

    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of clients (a load test, Stripe
    # retrying a backlog) saw connection resets while the accept loop was busy.
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: App, name: str) -> None:
        self.app = app
        self.name = name
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalHttpServer

    def _handle(self) -> None:
        started = time.monotonic()
        try:
            body = read_body(self)
        except (BadRequest, TooLarge) as exc:
            # The rest of the body is never read, so the connection cannot carry another request.
            self.close_connection = True
            bad = json_response(400, {"message": str(exc)})
            refusal = TOO_LARGE if isinstance(exc, TooLarge) else bad
            write_response(self, refusal)
            log.info("%s %s -> %d (%s)", self.command, self.path, refusal.status, exc)
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            protocol=self.request_version,
            source_ip=str(self.client_address[0]),
            server_port=int(self.server.server_address[1]),
        )
        try:
            response = self.server.app(request)
        except Exception:
            log.exception(
                "%s: %s %s failed in the runner", self.server.name, self.command, self.path
            )
            response = json_response(500, {"message": "Internal Server Error"})
        write_response(self, response)
        elapsed = (time.monotonic() - started) * 1000
        log.info("%s %s -> %d (%.0f ms)", self.command, self.path, response.status, elapsed)

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Every method is matched against the routes, as API Gateway does (a method no route
        declares is its JSON 404), where http.server would answer an HTML 501 to a method
        it has no ``do_<METHOD>`` for."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's own access log; ``_handle`` logs one line per request."""


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with Content-Length or chunked; never more than
    ``MAX_BODY_BYTES`` of it is read (TooLarge instead)."""
    if "chunked" in handler.headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = handler.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BadRequest("malformed chunked body") from None
            if size == 0:
                while handler.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise TooLarge(f"chunked body over {MAX_BODY_BYTES} bytes")
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    length = handler.headers.get("content-length")
    if not length:
        return b""
    if not length.strip().isdigit():
        raise BadRequest("invalid Content-Length")
    if int(length) > MAX_BODY_BYTES:
        raise TooLarge(f"Content-Length {int(length)} is over {MAX_BODY_BYTES} bytes")
    return handler.rfile.read(int(length))


def write_response(handler: BaseHTTPRequestHandler, response: HttpResponse) -> None:
    handler.send_response(response.status)
    for name, value in response.headers:
        if name.lower() not in _HOP_BY_HOP:
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(response.body)))
    if handler.close_connection:  # tell the client, rather than just hanging up
        handler.send_header("Connection", "close")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(response.body)


class ApiGateway:
    """The HTTP API: match a route, invoke its function with a v2.0 event, map the answer."""

    def __init__(self, routes: RouteTable, workers: Workers) -> None:
        self._routes = routes
        self._workers = workers

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        match = self._routes.match(request.method, request.target.partition("?")[0])
        if match is None:
            response = NOT_FOUND
        else:
            event = build_event(request, match, request_id)
            invocation = self._workers.invoke(match.target, json.dumps(event).encode())
            response = map_response(invocation)
        return HttpResponse(
            response.status,
            [*response.headers, ("apigw-requestid", request_id)],
            response.body,
        )
