"""POST /auth/sign-in, GET /auth/session, POST /auth/sign-out: operators' dashboard sessions."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from cognitionos.http import INVALID, documented_responses
from cognitionos.sessions import (
    ABSOLUTE_LIFETIME_S,
    CSRF_HEADER,
    SESSION_COOKIE,
    OperatorSession,
    session_cookie,
)
from cognitionos.timeutil import iso
from operators.handlers.wiring import directory, flow
from operators.models.auth import OperatorView, SessionView, SignedOut, SignInRequest

router = APIGatewayHttpRouter()
NO_SESSION = "No session cookie, or its session ended (signed out, 8 h old, or 30 min idle)"
EXAMPLES = {401: "no live dashboard session: sign in"}


@router.post(
    "/auth/sign-in",
    tags=["operators"],
    summary="Sign an operator in to the dashboard",
    description=(
        "Checks the email and password (Argon2id) and starts a session: the answer sets the "
        f"`{SESSION_COOKIE}` cookie (HttpOnly, Secure, SameSite=Strict, Path=/, Max-Age 8 h) "
        "and holds the CSRF token that state-changing requests must send as `X-CSRF-Token`. "
        "The cookie then authenticates the `/v1` routes as an operator key (`admin`). A "
        "wrong password and an unknown email get the same 401. After 5 failures in a row "
        "(configurable) the email is locked for 30 s, doubling with each further failure up "
        "to 15 min, whether or not an operator has it: 429 with `Retry-After`."
    ),
    responses=documented_responses(
        "Signed in: the session, and its cookie in `Set-Cookie`",
        {
            400: "The body is not JSON, or not UTF-8",
            401: "The email or the password is wrong (the same answer for an unknown email)",
            415: "The body was not sent as `Content-Type: application/json`",
            422: INVALID,
            429: "Too many failed sign-ins in a row for this email: wait `Retry-After` seconds",
        },
        success_model=SessionView,
        examples={401: "the email or password is wrong"},
    ),
)
def sign_in(request: SignInRequest) -> Response[Any]:
    signed_in = flow().sign_in(request.email, request.password)
    cookie = Cookie(
        name=SESSION_COOKIE,
        value=signed_in.token,
        path="/",
        secure=True,
        http_only=True,
        max_age=ABSOLUTE_LIFETIME_S,
        same_site=SameSite.STRICT_MODE,
    )
    view = session_view(signed_in.session, signed_in.email)
    return _json(200, view.model_dump(), cookie)


@router.get(
    "/auth/session",
    tags=["operators"],
    summary="The signed-in operator",
    description=(
        "The operator of the session cookie, the session's CSRF token and when it ends; 401 "
        "without a live session. Each request moves the idle end (30 min) on."
    ),
    responses=documented_responses(
        "The live session", {401: NO_SESSION}, success_model=SessionView, examples=EXAMPLES
    ),
)
def current_session() -> SessionView:
    session = flow().current(_token())
    return session_view(session, _email(session))


@router.post(
    "/auth/sign-out",
    tags=["operators"],
    summary="Sign out of the dashboard",
    description=(
        "Ends the session at once (its cookie is refused from then on) and clears the cookie. "
        "Needs the session cookie and its CSRF token in `X-CSRF-Token`."
    ),
    responses=documented_responses(
        "Signed out; `Set-Cookie` clears the cookie",
        {401: NO_SESSION, 403: "No `X-CSRF-Token` header, or not the session's CSRF token"},
        success_model=SignedOut,
        examples={
            **EXAMPLES,
            403: "sign-out needs the session's CSRF token in the X-CSRF-Token header",
        },
    ),
)
def sign_out() -> Response[Any]:
    event = router.current_event
    flow().sign_out(_token(), event.headers.get(CSRF_HEADER))
    expired = Cookie(
        name=SESSION_COOKIE,
        value="",
        path="/",
        secure=True,
        http_only=True,
        max_age=0,
        same_site=SameSite.STRICT_MODE,
    )
    return _json(200, SignedOut(signed_out=True).model_dump(), expired)


def session_view(session: OperatorSession, email: str) -> SessionView:
    return SessionView(
        operator=OperatorView(operator_id=session.operator_id, email=email),
        csrf_token=session.csrf_token,
        expires_at=iso(session.expires_at),
    )


def _token() -> str | None:
    return session_cookie(getattr(router.current_event, "cookies", None))


def _email(session: OperatorSession) -> str:
    return directory().email_of_session(session)


def _json(status: int, body: dict[str, Any], cookie: Cookie) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        cookies=[cookie],
        # A session answer is never cached by a browser or a proxy.
        headers={"Cache-Control": "no-store"},
    )
