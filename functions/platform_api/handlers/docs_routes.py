"""Health, the OpenAPI document and Swagger UI: public, no key."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

router = APIGatewayHttpRouter()

# Built by Powertools' OpenAPIMerge over every API function (`make openapi`).
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"
SWAGGER_ASSETS = Path(swagger_ui.__file__).resolve().parent


@functools.cache
def _openapi_json() -> str:
    return OPENAPI_FILE.read_text(encoding="utf-8")


@functools.cache
def _swagger_page() -> str:
    """Swagger UI with its script and styles inlined: works with no internet."""
    return generate_swagger_html(
        spec=_openapi_json().replace("</", "<\\/"),
        swagger_js=(SWAGGER_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(SWAGGER_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    )


@router.get("/health", include_in_schema=False)
def health() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, _openapi_json())


@router.get("/docs", include_in_schema=False)
def swagger_ui_page() -> Response[str]:
    return Response(200, "text/html; charset=utf-8", _swagger_page())
