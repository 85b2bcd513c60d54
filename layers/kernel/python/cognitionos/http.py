"""HTTP wiring shared by every API function: one resolver factory, errors mapped once, auth.

Domain exceptions (``cognitionos.errors``) become JSON ``{"message": ...}`` responses with
their status code here and nowhere else; handlers simply raise them.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from cognitionos.auth import ApiKeyStore, Principal, bearer_token
from cognitionos.aws import dynamodb_table
from cognitionos.errors import BadRequest, DomainError
from cognitionos.observability import logger
from cognitionos.settings import FunctionSettings, load_settings

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]
PEPPER_MAX_AGE_S = 300


def body_bytes(event: BaseProxyEvent) -> bytes:
    """The request body exactly as sent: API Gateway's base64 undone, text as UTF-8."""
    raw = event.body or ""
    return base64.b64decode(raw) if event.is_base64_encoded else raw.encode()


def utf8_text(data: bytes) -> str:
    """A body as text; BadRequest if it is not UTF-8.

    Powertools' ``decoded_body`` raises on a binary body that is not UTF-8, which would
    surface as a 500 instead of telling the caller what is wrong.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None


def body_text(event: BaseProxyEvent) -> str:
    """The request body exactly as sent, as text; BadRequest if it is not UTF-8."""
    return utf8_text(body_bytes(event))


def json_response(status_code: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=body)


def create_resolver(*, enable_validation: bool = True) -> APIGatewayHttpResolver:
    """An HTTP API (payload v2) resolver with the contract's error mapping."""
    app = APIGatewayHttpResolver(enable_validation=enable_validation)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response[Any]:
        return json_response(exc.status_code, {"message": exc.message})

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return json_response(400, {"message": "the request body is not valid JSON"})
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in errors
        ]
        return json_response(422, {"message": "; ".join(problems), "errors": problems})

    @app.not_found
    def _no_route(_: Exception) -> Response[Any]:
        event = app.current_event
        return json_response(404, {"message": f"no route {event.http_method} {event.path}"})

    return app


class ApiKeyAuthSettings(FunctionSettings):
    """What every /v1 function needs to check API keys."""

    api_keys_table: str
    api_key_pepper_secret_id: str


@functools.cache
def _auth_settings() -> ApiKeyAuthSettings:
    return load_settings(ApiKeyAuthSettings)


def api_key_store() -> ApiKeyStore:
    """The key store; the pepper is cached by Parameters for five minutes."""
    settings = _auth_settings()
    pepper = parameters.get_secret(settings.api_key_pepper_secret_id, max_age=PEPPER_MAX_AGE_S)
    return ApiKeyStore(dynamodb_table(settings.api_keys_table), str(pepper))


def require_scope(scope: str) -> Middleware:
    """Route middleware: authenticate the bearer key and demand ``scope`` (admin implies all)."""

    def authorize(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        token = bearer_token(app.current_event.headers.get("authorization"))
        principal = api_key_store().authenticate(token)
        principal.require_scope(scope)
        logger.append_keys(api_key_id=principal.key_id)
        app.append_context(principal=principal)
        return next_middleware(app)

    return authorize


class _HasContext(Protocol):
    context: dict[str, Any]


def current_principal(resolver: _HasContext) -> Principal:
    """The caller that ``require_scope`` authenticated (a router shares its app's context)."""
    principal = resolver.context.get("principal")
    if not isinstance(principal, Principal):
        raise RuntimeError("route has no require_scope middleware")  # a wiring bug, not input
    return principal
