"""API Gateway HTTP API, locally: route matching, the payload v2.0 event, response mapping.

Everything here follows what API Gateway does for a Lambda proxy integration with payload
format 2.0, so a handler cannot tell the runner from AWS:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.local.config import ACCOUNT_ID
from infra.local.workers import Invocation

API_ID = "local"
TEXT_MEDIA_MARKERS = ("json", "xml", "javascript", "x-www-form-urlencoded")
_REQUEST_ID_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # the request-target as sent: path and query, still percent-encoded
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes = b""
    protocol: str = "HTTP/1.1"
    source_ip: str = "127.0.0.1"
    server_port: int = 0


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class RouteMatch:
    route_key: str
    target: str  # the function that serves the route
    path_parameters: dict[str, str]


def json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], json.dumps(body).encode())


NOT_FOUND = json_response(404, {"message": "Not Found"})
INTERNAL_ERROR = json_response(500, {"message": "Internal Server Error"})
SERVICE_UNAVAILABLE = json_response(503, {"message": "Service Unavailable"})


@dataclass(frozen=True)
class _Route:
    method: str
    segments: tuple[str, ...]
    route_key: str
    target: str

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The path parameters if this route serves ``method`` on ``segments``, else None."""
        if self.method not in (method, "ANY"):
            return None
        params: dict[str, str] = {}
        for i, template in enumerate(self.segments):
            if template.startswith("{") and template.endswith("+}"):  # greedy: the rest
                rest = "/".join(segments[i:])
                params[template[1:-2]] = unquote(rest)
                return params if rest else None
            segment = segments[i] if i < len(segments) else None
            if segment is None or (template.startswith("{") and segment == ""):
                return None
            if template.startswith("{"):
                params[template[1:-1]] = unquote(segment)
            elif unquote(segment) != template:
                return None
        return params if len(segments) == len(self.segments) else None

    @property
    def priority(self) -> tuple[int, ...]:
        """Lower wins: a literal segment beats ``{param}``, which beats ``{param+}``; an
        exact method beats ``ANY``."""
        kinds = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments]
        return (*kinds, 1 if self.method == "ANY" else 0)


class RouteTable:
    """The HTTP API's routes: ``(method, path template, target)`` triples."""

    def __init__(self, routes: Iterable[tuple[str, str, str]]) -> None:
        self._routes = [
            _Route(method, tuple(path.split("/")[1:]), f"{method} {path}", target)
            for method, path, target in routes
        ]

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        segments = raw_path.split("/")[1:]
        found = [
            (route, params)
            for route in self._routes
            if (params := route.match(method, segments)) is not None
        ]
        if not found:
            return None
        route, params = min(found, key=lambda pair: pair[0].priority)
        return RouteMatch(route.route_key, route.target, params)


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text rather than base64."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or any(m in media for m in TEXT_MEDIA_MARKERS)


def build_event(
    request: HttpRequest, route: RouteMatch, request_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """The payload v2.0 event for ``request``."""
    moment = now or datetime.now(UTC)
    raw_path, _, raw_query = request.target.partition("?")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":  # moved to "cookies", one entry per cookie
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", _trace_id(moment))
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    host = _hostname(headers.get("host", "localhost"))
    path = unquote(raw_path)  # HTTP APIs hand the path over decoded
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0] if not _is_ip(host) else host,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(moment.timestamp() * 1000),
    }
    is_base64 = False
    if request.body:
        text = _as_text(request.body, headers.get("content-type"))
        is_base64 = text is None
        event["body"] = base64.b64encode(request.body).decode() if text is None else text
    if route.path_parameters:
        event["pathParameters"] = route.path_parameters
    event["isBase64Encoded"] = is_base64
    return event


def _as_text(body: bytes, content_type: str | None) -> str | None:
    if not is_text(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:3000
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0]


def _is_ip(host: str) -> bool:
    return host.replace(".", "").isdigit() or host.startswith("[")


def _trace_id(moment: datetime) -> str:
    return f"Root=1-{int(moment.timestamp()):08x}-{secrets.token_hex(12)}"


def new_request_id() -> str:
    """An id shaped like API Gateway's (``apigw-requestid``): 14 characters then ``=``."""
    return "".join(secrets.choice(_REQUEST_ID_CHARS) for _ in range(14)) + "="


def map_response(invocation: Invocation) -> HttpResponse:
    """The HTTP response API Gateway makes of a function's answer (payload format 2.0)."""
    if invocation.timed_out:
        return SERVICE_UNAVAILABLE
    if not invocation.ok:
        return INTERNAL_ERROR
    try:
        result = invocation.json()
    except ValueError:
        return INTERNAL_ERROR
    if not isinstance(result, dict) or "statusCode" not in result:
        # "If your function returns valid JSON and doesn't return a statusCode, API Gateway
        # assumes 200, application/json, and the response as the body."
        return HttpResponse(200, [("content-type", "application/json")], invocation.payload)
    try:
        return _structured(result)
    except (TypeError, ValueError):
        return INTERNAL_ERROR


def _structured(result: dict[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"invalid statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name), _header_value(v)) for v in values]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = json.dumps(body).encode()
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body, validate=True)
    else:
        data = body.encode()
    return HttpResponse(status, headers, data)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if not isinstance(value, str | int | float):
        raise TypeError(f"invalid header value {value!r}")
    return str(value)
