"""HTTP wiring shared by every API function: one resolver factory, errors mapped once, auth.

Domain exceptions (``cognitionos.errors``) become JSON ``{"message": ...}`` responses with
their status code here and nowhere else; handlers simply raise them.

Every request is looked at in the same order (docs/API.md, "Errors"): the API key (401, 403),
then a JSON body's media type (415) and encoding (400), then the request's fields (422).
"""

from __future__ import annotations

import base64
import functools
import re
import time
from typing import Annotated, Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler, NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import BaseModel, Field

from cognitionos.audit.store import audit_log
from cognitionos.auth import ApiKeyStore, Principal, bearer_token, pepper_id
from cognitionos.aws import client, dynamodb_table
from cognitionos.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from cognitionos.observability import logger
from cognitionos.sessions import (
    CSRF_HEADER,
    STATE_CHANGING_METHODS,
    SessionStore,
    csrf_matches,
    session_cookie,
)
from cognitionos.settings import FunctionSettings, load_settings

PEPPER_MAX_AGE_S = 300
PEPPER_REREAD_S = 60  # how often a key of an unknown pepper may make the current one re-read
PREVIOUS_STAGE = "AWSPREVIOUS"  # Secrets Manager moves the old value here on a rotation
# The key id of a presented key (never its secret), for the audit of a refused request.
KEY_ID_IN_HEADER = re.compile(r"\bcos_(?P<key_id>[a-z0-9]{16})_")
JSON_MEDIA_TYPE = "application/json"


class ErrorBody(BaseModel):
    """Every error answer."""

    message: str = Field(
        description="What went wrong, in words for a person",
        examples=["this API key lacks the 'billing:read' scope"],
    )


class ValidationErrorBody(ErrorBody):
    """A 422: the request is well-formed JSON but breaks the route's rules."""

    errors: list[str] = Field(
        description="One entry per problem: where (`query.limit`, `scopes.0`) and what",
        examples=[["query.limit: Input should be less than or equal to 100"]],
    )


# What a 401 and a 403 mean on every /v1 route; a route adds its own meanings to these.
UNAUTHORIZED = (
    "No `Authorization: Bearer <api key>` header (nor a dashboard session cookie), or a "
    "malformed, unknown or revoked key, or a session that ended"
)
FORBIDDEN = "The key lacks this route's scope"
# The scopes of a signed-in operator (a dashboard session): an operator key's.
OPERATOR_SCOPES = frozenset({"admin"})
PAGE_EXAMPLES = {400: "next_token is not a token this API issued"}
INVALID = "A parameter or field breaks the rules documented here; `errors` names each"


# Every list: ``limit`` items at most, and ``next_token`` from the previous page for the next.
Limit = Annotated[
    int,
    Query(
        ge=1,
        le=100,
        description="At most this many items on the page",
        openapi_examples={"a page of 20": {"value": 20}},
    ),
]
NextToken = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_-]{1,2048}$",
        description=(
            "Opaque: the `next_token` of the previous page, passed back unchanged, for the "
            "page after it. Absent for the first page. A token this listing did not issue is "
            "a 400."
        ),
    ),
]


# What each error looks like in the document, unless a route shows its own.
ERROR_EXAMPLES = {
    400: "the request body is not valid JSON",
    401: "unknown API key",
    403: "this API key lacks the 'billing:read' scope",
    404: "no customer cus_NffrFeUfNV2Hib",
    413: "the request body is 5000000 bytes; a Stripe webhook may be at most 4194304 bytes (4 MiB)",
    415: "the body must be JSON, sent with 'Content-Type: application/json'; got "
    "'application/x-www-form-urlencoded'",
    422: "query.limit: Input should be less than or equal to 100",
    429: "too many failed sign-ins for this email; try again in 30 s",
    502: "job 'dunning' failed: ...",
    504: "job 'billing-reconcile' is still running after 28 s; it finishes on its own",
}


def documented_responses(
    success: str,
    errors: dict[int, str],
    *,
    status: int = 200,
    success_model: type[BaseModel] | None = None,
    examples: dict[int, str] | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's OpenAPI responses: ``success`` (its body is ``success_model``, by default
    the route's return type) and each error status with what it means there, all with the
    error body and an example ``message`` (``examples``, else ``ERROR_EXAMPLES``)."""
    responses: dict[int, OpenAPIResponse] = {status: {"description": success}}
    if success_model is not None:
        responses[status]["content"] = {JSON_MEDIA_TYPE: {"model": success_model}}
    for code, meaning in sorted(errors.items()):
        message = (examples or {}).get(code) or ERROR_EXAMPLES[code]
        body: dict[str, Any] = {"message": message}
        if code == 422:
            body["errors"] = [message]
        responses[code] = {
            "description": meaning,
            "content": {
                JSON_MEDIA_TYPE: {
                    "model": ValidationErrorBody if code == 422 else ErrorBody,
                    "examples": {"example": {"value": body}},
                }
            },
        }
    return responses


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


def require_json_body(event: BaseProxyEvent) -> None:
    """A JSON body route's body: sent as ``application/json`` (415 otherwise) in UTF-8 (400)."""
    content_type = event.headers.get("content-type") or ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(_not_json(media_type))
    utf8_text(body_bytes(event))


def _not_json(media_type: str) -> str:
    sent = f"'{media_type}'" if media_type else "no Content-Type"
    return f"the body must be JSON, sent with 'Content-Type: {JSON_MEDIA_TYPE}'; got {sent}"


def json_response(
    status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


class RequireScope(BaseMiddlewareHandler[APIGatewayHttpResolver]):
    """Route middleware: authenticate the caller and demand ``scope`` (admin implies all).

    The caller is the bearer key when there is an ``Authorization`` header; without one, the
    operator of a live dashboard session cookie (``operator_principal``), whose POST, PUT,
    PATCH and DELETE requests must also carry the session's ``X-CSRF-Token``.

    The resolver runs it before request validation (``_CallerFirst``); it runs again as a
    route middleware, where it only checks the scope of the principal already found.
    ``audit_denials``: a refused request (401, 403) is recorded as ``auth.denied`` in the
    audit log (the function's topology entry includes ``AUDIT_WRITING``).
    """

    def __init__(self, scope: str, audit_denials: bool = False) -> None:
        super().__init__()
        self.scope = scope
        self.audit_denials = audit_denials

    def authorize(self, app: APIGatewayHttpResolver) -> None:
        try:
            self._authorize(app)
        except (Unauthorized, Forbidden) as denial:
            if self.audit_denials:
                _record_denial(app, denial)
            raise

    def _authorize(self, app: APIGatewayHttpResolver) -> None:
        principal = app.context.get("principal")
        if not isinstance(principal, Principal):
            event = app.current_event
            authorization = event.headers.get("authorization")
            cookie = session_cookie(getattr(event, "cookies", None))
            if authorization is None and cookie is not None:
                principal = operator_principal(event, cookie)
                logger.append_keys(operator_id=principal.key_id)
            else:
                principal = api_key_store().authenticate(bearer_token(authorization))
                logger.append_keys(api_key_id=principal.key_id)
            app.append_context(principal=principal)
        principal.require_scope(self.scope)

    def handler(
        self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        self.authorize(app)
        return next_middleware(app)


def require_scope(scope: str, *, audit_denials: bool = False) -> RequireScope:
    return RequireScope(scope, audit_denials)


def operator_principal(event: BaseProxyEvent, token: str) -> Principal:
    """The operator of a live session, as an unbound admin principal whose ``key_id`` is the
    operator id (``op_...``); a state-changing request must carry the session's CSRF token.

    The cookie goes with every request the browser makes to the API, a forged cross-site one
    included (SameSite=Strict stops most, not all: a sibling subdomain is same-site); only
    the dashboard's own script can read the CSRF token and send it as a header.
    """
    session = session_store().find(token)
    if session is None:
        raise Unauthorized("the dashboard session has ended (signed out or expired); sign in")
    if event.http_method.upper() in STATE_CHANGING_METHODS:
        presented = event.headers.get(CSRF_HEADER)
        if not presented:
            raise Forbidden(
                f"a {event.http_method} with a session cookie needs the X-CSRF-Token header"
            )
        if not csrf_matches(session.csrf_token, presented):
            raise Forbidden("the X-CSRF-Token header does not match the session's CSRF token")
    return Principal(key_id=session.operator_id, scopes=OPERATOR_SCOPES, tenant_id=None)


def _record_denial(app: APIGatewayHttpResolver, denial: DomainError) -> None:
    """``auth.denied``: who (the key id when the key was well-formed, never its secret),
    which route, and why; in the key's tenant's chain, else the operators'."""
    principal = app.context.get("principal")
    actor, tenant = "anonymous", None
    if isinstance(principal, Principal):
        actor, tenant = principal.key_id, principal.tenant_id
    else:
        match = KEY_ID_IN_HEADER.search(app.current_event.headers.get("authorization") or "")
        actor = match["key_id"] if match else actor
    event = app.current_event
    audit_log().record(
        "auth.denied",
        actor=actor,
        resource=f"route:{event.http_method} {event.path}",
        tenant_id=tenant,
        details={"status": denial.status_code, "reason": denial.message[:200]},
    )


class _CallerFirst(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, after what the contract checks first.

    Powertools runs its validation before any route middleware, so an unauthenticated
    request with a bad parameter would learn about the parameter (422). This one takes its
    place at the head of every validated route: the route's key check, then a JSON body's
    media type and encoding, then Powertools' validation itself.
    """

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        route = app.context["_route"]  # set by Powertools before any middleware runs
        for middleware in route.middlewares:
            if isinstance(middleware, RequireScope):
                middleware.authorize(app)
        if route.dependant.body_params:
            require_json_body(app.current_event)
        return super().handler(app, next_middleware)


def create_resolver(*, enable_validation: bool = True) -> APIGatewayHttpResolver:
    """An HTTP API (payload v2) resolver with the contract's error mapping and order."""
    app = APIGatewayHttpResolver(enable_validation=enable_validation)
    if enable_validation:
        # The one instance Powertools puts at the head of each validated route's stack.
        app._request_validation_middleware = _CallerFirst()

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response[Any]:
        if exc.status_code == 422:  # every 422 has the same shape (ValidationErrorBody)
            return json_response(422, {"message": exc.message, "errors": [exc.message]})
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after_s)}
            return json_response(429, {"message": exc.message}, headers)
        return json_response(exc.status_code, {"message": exc.message})

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return json_response(400, {"message": "the request body is not valid JSON"})
        if any(err.get("type") == "unsupported_content_type" for err in errors):
            media_type = app.current_event.headers.get("content-type") or ""
            return json_response(415, {"message": _not_json(media_type)})
        problems = [_problem(err) for err in errors]
        return json_response(422, {"message": "; ".join(problems), "errors": problems})

    @app.not_found
    def _no_route(_: Exception) -> Response[Any]:
        event = app.current_event
        return json_response(404, {"message": f"no route {event.http_method} {event.path}"})

    return app


def _problem(error: dict[str, Any]) -> str:
    """``query.limit: Input should be ...``; a body field is named without ``body``."""
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


class ApiKeyAuthSettings(FunctionSettings):
    """What every /v1 function needs to check API keys."""

    api_keys_table: str
    api_key_pepper_secret_id: str
    # ... and operators' dashboard sessions, which stand in for an operator key (SESSION_AUTH).
    operator_sessions_table: str


@functools.cache
def _auth_settings() -> ApiKeyAuthSettings:
    return load_settings(ApiKeyAuthSettings)


def api_key_store() -> ApiKeyStore:
    """The key store; the pepper is cached by Parameters for five minutes, and so is the
    previous pepper once a key of it was presented."""
    settings = _auth_settings()
    secret_id = settings.api_key_pepper_secret_id
    pepper = parameters.get_secret(secret_id, max_age=PEPPER_MAX_AGE_S)
    return ApiKeyStore(
        dynamodb_table(settings.api_keys_table),
        str(pepper),
        lambda wanted: pepper_of(secret_id, wanted),
    )


def pepper_of(secret_id: str, wanted: str | None) -> str | None:
    """The pepper whose ``pepper_id`` is ``wanted`` (None: a key made before ids, which the
    previous pepper may have hashed): the previous one, or the current one read again, when
    this environment still holds the pepper from before a rotation."""
    previous = previous_pepper(secret_id)
    if previous is not None and (wanted is None or pepper_id(previous) == wanted):
        return previous
    if wanted is None:
        return None
    newer = _current_pepper_read_again(secret_id)
    return newer if newer is not None and pepper_id(newer) == wanted else None


_PEPPER_READ_AGAIN_AT: dict[str, float] = {}  # secret id -> monotonic time of the last re-read


def _current_pepper_read_again(secret_id: str) -> str | None:
    """AWSCURRENT past Parameters' cache, at most once a minute (a stale environment after a
    rotation catches up at once; a flood of unknown ids cannot flood Secrets Manager)."""
    last = _PEPPER_READ_AGAIN_AT.get(secret_id)
    if last is not None and time.monotonic() - last < PEPPER_REREAD_S:
        return None
    _PEPPER_READ_AGAIN_AT[secret_id] = time.monotonic()
    fresh = parameters.get_secret(secret_id, max_age=PEPPER_MAX_AGE_S, force_fetch=True)
    return str(fresh)


# The pepper's AWSPREVIOUS version, in a provider of its own: Parameters' cache is keyed by
# secret name alone, so asking the shared one for another stage would return the current.
@functools.cache
def _previous_peppers() -> SecretsProvider:
    return SecretsProvider(boto3_client=client("secretsmanager"))  # made on first use


_NO_PREVIOUS_PEPPER: dict[str, float] = {}  # secret id -> monotonic time its absence was seen


def previous_pepper(secret_id: str) -> str | None:
    """The pepper before the current one, during a rotation's grace period; None when the
    secret has no AWSPREVIOUS version (never rotated, or the grace period ended)."""
    seen_absent = _NO_PREVIOUS_PEPPER.get(secret_id)
    if seen_absent is not None and time.monotonic() - seen_absent < PEPPER_MAX_AGE_S:
        return None
    try:
        value = _previous_peppers().get(
            secret_id, max_age=PEPPER_MAX_AGE_S, VersionStage=PREVIOUS_STAGE
        )
    except GetParameterError as error:
        if "ResourceNotFoundException" not in str(error):
            raise
        _NO_PREVIOUS_PEPPER[secret_id] = time.monotonic()
        return None
    return str(value)


def forget_previous_pepper() -> None:
    """Tests that start a new moto backend call this, as a new environment would."""
    _previous_peppers.cache_clear()
    _NO_PREVIOUS_PEPPER.clear()
    _PEPPER_READ_AGAIN_AT.clear()


@functools.cache
def session_store() -> SessionStore:
    """The operators' sessions, looked up when a request has a cookie and no key."""
    return SessionStore(dynamodb_table(_auth_settings().operator_sessions_table))


class _HasContext(Protocol):
    context: dict[str, Any]


def current_principal(resolver: _HasContext) -> Principal:
    """The caller that ``require_scope`` authenticated (a router shares its app's context)."""
    principal = resolver.context.get("principal")
    if not isinstance(principal, Principal):
        raise RuntimeError("route has no require_scope middleware")  # a wiring bug, not input
    return principal
