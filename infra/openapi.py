"""Builds the API's one OpenAPI document from every API function's Powertools resolver.

Each function has its own resolver, so Powertools' ``OpenAPIMerge`` joins their schemas; the
topology says which routes need an API key. ``make openapi`` writes the result where the
platform function serves it (``/v1/openapi.json``, ``/docs``); a test fails if it is stale.

What each route documents (summary, parameters, every answer) is declared with the route;
here the document only loses what Powertools adds and the routes do not answer: its own
422 schemas (every 422 here is ``ValidationErrorBody``) and ``null`` as a value of an
optional query or header parameter (absent is what the routes take).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from cognitionos.http import RequireScope
from infra import topology

OUTPUT = Path(__file__).resolve().parent.parent / "functions" / "platform_api" / "openapi.json"
DESCRIPTION = (
    "CognitionOS: Stripe billing, revenue analytics, durable AI agents, code validation, "
    "alerting, a verifiable audit log and GDPR consent records.\n\n"
    "Send `Authorization: Bearer cos_<key id>_<secret>` on every /v1 route: no key or an "
    "unknown one is a 401, a key without the route's scope (named in the operation's "
    "security requirement; `admin` implies every scope) a 403, and the key is checked "
    "before anything else in the request. A key bound to a tenant (a Stripe customer) "
    "sees only that tenant: another tenant's customer, subscription, event or run is a "
    "404, its audit chain or its consents a 403, and routes that span every tenant "
    "(revenue, alerts, admin) answer a bound key 403. Every answer is JSON; an error is "
    '`{"message": ...}` (a 422 adds `errors`, one entry per problem). Money is an '
    "integer in minor units beside a lower-case ISO `currency`; times are ISO-8601 UTC "
    "(`2025-03-01T00:00:00Z`), months `YYYY-MM`. A list answers one page and a "
    "`next_token` to pass back for the next. A path or method that no route serves is "
    'API Gateway\'s 404 `{"message": "Not Found"}`.\n\n'
    "The whole reference, with examples: docs/API.md in the repository."
)
TAGS = [
    {"name": "platform", "description": "API keys and on-demand jobs (`admin`)"},
    {"name": "billing", "description": "Stripe's webhook and the billing read API"},
    {"name": "revenue", "description": "MRR, churn, cohorts and forecast (`revenue:read`)"},
    {
        "name": "alerts",
        "description": "Alert channels, rules, silences and alerts (`alerts:manage`)",
    },
    {
        "name": "audit",
        "description": "The audit log: events, verification, export (`audit:read`)",
    },
    {
        "name": "privacy",
        "description": "GDPR: consent records, exports and erasures (`privacy:manage`)",
    },
]
# Powertools' own 422 schemas; the routes answer ValidationErrorBody instead.
POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def build_openapi() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="CognitionOS API",
        version="1.0.0",
        description=DESCRIPTION,
        security_schemes={"apiKey": HTTPBearer(description="cos_<key id>_<secret>")},
        on_conflict="error",
    )
    scopes: dict[tuple[str, str], list[str]] = {}
    for fn in topology.FUNCTIONS:
        if fn.routes:
            module = importlib.import_module(fn.handler.rsplit(".", 1)[0])
            merge.add_schema(json.loads(module.app.get_openapi_json_schema()))
            scopes |= route_scopes(module.app)
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    for route, _ in topology.routes():
        path = route.path
        operation = document.get("paths", {}).get(path, {}).get(route.method.lower())
        if operation is not None and route.auth == "api_key":
            # OpenAPI 3.1 lets a bearer requirement list the roles it needs: the key's scope.
            operation["security"] = [{"apiKey": scopes.get((route.method, path), [])}]
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "header") and not parameter.get("required"):
                    parameter["schema"] = _without_null(parameter["schema"])
    schemas = document.get("components", {}).get("schemas", {})
    for name in POWERTOOLS_ONLY:
        schemas.pop(name, None)
    document["tags"] = TAGS
    return document


def route_scopes(app: Any) -> dict[tuple[str, str], list[str]]:
    """``(method, path) -> [scope]`` of each route of a resolver that checks a key's scope."""
    found: dict[tuple[str, str], list[str]] = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        for middleware in route.middlewares:
            if isinstance(middleware, RequireScope):
                found[(route.method, route.openapi_path)] = [middleware.scope]
    return found


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {"type": "null"}]`` (an optional ``str | None``) as X itself."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1 or len(schema["anyOf"]) != 2:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**branches[0], **rest}


def render() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT}")
    args = parser.parse_args()
    text = render()
    if args.write:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT} ({len(text)} bytes)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
