"""Builds the API's one OpenAPI document from every API function's Powertools resolver.

Each function has its own resolver, so Powertools' ``OpenAPIMerge`` joins their schemas; the
topology says which routes need an API key. ``make openapi`` writes the result where the
platform function serves it (``/v1/openapi.json``, ``/docs``); a test fails if it is stale.
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

from infra import topology

OUTPUT = Path(__file__).resolve().parent.parent / "functions" / "platform_api" / "openapi.json"
DESCRIPTION = (
    "CognitionOS: Stripe billing, revenue analytics, agents, alerts and privacy. "
    "Send `Authorization: Bearer cos_<key id>_<secret>` on every /v1 route."
)


def build_openapi() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="CognitionOS API",
        version="1.0.0",
        description=DESCRIPTION,
        security_schemes={"apiKey": HTTPBearer(description="cos_<key id>_<secret>")},
        on_conflict="error",
    )
    for fn in topology.FUNCTIONS:
        if fn.routes:
            module = importlib.import_module(fn.handler.rsplit(".", 1)[0])
            merge.add_schema(json.loads(module.app.get_openapi_json_schema()))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    for route, _ in topology.routes():
        path = route.path
        operation = document.get("paths", {}).get(path, {}).get(route.method.lower())
        if operation is not None and route.auth == "api_key":
            operation["security"] = [{"apiKey": []}]
    return document


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
