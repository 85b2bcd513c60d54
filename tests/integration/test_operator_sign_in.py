"""Operator sign-in in process under moto: sessions, lockout, CSRF, audit, API keys alongside."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest

from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
COOKIE = "__Host-cognitionos_session"


def create_operator(email: str = EMAIL, password: str = PASSWORD) -> str:
    from operators.handlers.wiring import directory, email_index
    from operators.logic.emails import normal_email
    from operators.logic.passwords import hash_password

    normal = normal_email(email)
    record = directory().create(
        normal, email_index(normal), hash_password(password), "2025-01-01T00:00:00Z"
    )
    return record.operator_id


def call(
    context: LambdaContext,
    handler: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    cookie: str | None = None,
    csrf: str | None = None,
    key: str | None = None,
) -> tuple[int, Any, dict[str, Any]]:
    import importlib

    module = importlib.import_module(handler)
    headers = {"content-type": "application/json"}
    if cookie is not None:
        headers["cookie"] = f"{COOKIE}={cookie}"
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    raw = None if body is None else json.dumps(body)
    response = module.lambda_handler(http_event(method, path, body=raw, headers=headers), context)
    return response["statusCode"], json.loads(response.get("body") or "null"), response


AUTH = "operators.handlers.api"


def sign_in(context: LambdaContext, email: str = EMAIL, password: str = PASSWORD) -> Any:
    return call(context, AUTH, "POST", "/auth/sign-in", body={"email": email, "password": password})


def session_token(response: dict[str, Any]) -> str:
    [cookie] = response["cookies"]
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(cookie)
    return parsed[COOKIE].value


def audit_actions(aws: Aws) -> list[dict[str, Any]]:
    items = aws.table("audit").scan()["Items"]
    return sorted(
        (i for i in items if str(i.get("action", "")).startswith("operator.")),
        key=lambda i: str(i["sk"]),
    )


def test_sign_in_sets_a_strict_session_cookie_and_answers_the_session(
    aws: Aws, context: LambdaContext
) -> None:
    operator_id = create_operator()

    status, body, response = sign_in(context, email="  Ada@Example.COM ")

    assert status == 200
    assert body["operator"] == {"operator_id": operator_id, "email": EMAIL}
    [cookie] = response["cookies"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith(f"{COOKIE}=")
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=28800"} <= set(attributes)
    assert not any(a.lower().startswith("domain") for a in attributes)
    token = session_token(response)
    stored = aws.table("operator-sessions").scan()["Items"]
    assert len(stored) == 1 and token not in json.dumps(stored, default=str)

    status, current, _ = call(context, AUTH, "GET", "/auth/session", cookie=token)
    assert status == 200
    assert current == body


def test_unknown_email_and_wrong_password_get_the_same_answer(
    aws: Aws, context: LambdaContext
) -> None:
    create_operator()

    wrong = sign_in(context, password="not the password at all")
    unknown = sign_in(context, email="nobody@example.com")

    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1] == {"message": "the email or password is wrong"}
    assert not wrong[2].get("cookies") and not unknown[2].get("cookies")
    failed = [e for e in audit_actions(aws) if e["action"] == "operator.sign_in_failed"]
    reasons = [
        json.loads(e["details"])["reason"]
        if isinstance(e["details"], str)
        else e["details"]["reason"]
        for e in failed
    ]
    assert reasons == ["wrong_password", "unknown_email"]
    assert EMAIL not in json.dumps(failed, default=str)
    assert "nobody@example.com" not in json.dumps(failed, default=str)


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.com"])
def test_the_fifth_failure_locks_the_email_until_the_backoff_ends(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch, email: str
) -> None:
    import operators.handlers.wiring as wiring

    create_operator()
    now = [1_750_000_000.0]
    monkeypatch.setattr(wiring, "now_s", lambda: now[0])

    statuses = [sign_in(context, email=email, password="wrong password!")[0] for _ in range(5)]
    locked = sign_in(context, email=email)  # even the right password waits

    assert statuses == [401] * 5
    assert locked[0] == 429
    assert locked[2]["headers"]["Retry-After"] == "30"
    now[0] += 30
    assert sign_in(context, email=email, password="wrong password!")[0] == 401  # a 6th failure
    doubled = sign_in(context, email=email)
    assert doubled[0] == 429 and doubled[2]["headers"]["Retry-After"] == "60"
    now[0] += 60
    assert sign_in(context, email=email)[0] == (200 if email == EMAIL else 401)


def test_a_success_resets_the_failures(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_operator()
    for _ in range(4):
        assert sign_in(context, password="wrong password!")[0] == 401
    assert sign_in(context)[0] == 200
    for _ in range(4):
        assert sign_in(context, password="wrong password!")[0] == 401
    assert sign_in(context)[0] == 200


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    aws: Aws, context: LambdaContext
) -> None:
    create_operator()
    _, body, response = sign_in(context)
    token = session_token(response)

    assert call(context, AUTH, "POST", "/auth/sign-out", cookie=token)[0] == 403
    assert call(context, AUTH, "POST", "/auth/sign-out", cookie=token, csrf="forged")[0] == 403
    status, out, response = call(
        context, AUTH, "POST", "/auth/sign-out", cookie=token, csrf=body["csrf_token"]
    )

    assert (status, out) == (200, {"signed_out": True})
    assert "Max-Age=0" in response["cookies"][0]
    assert call(context, AUTH, "GET", "/auth/session", cookie=token)[0] == 401
    assert (
        call(context, "revenue.handlers.api", "GET", "/v1/revenue/summary", cookie=token)[0] == 401
    )
    actions = [e["action"] for e in audit_actions(aws)]
    assert actions == ["operator.signed_in", "operator.signed_out"]


def test_a_session_ends_when_idle_or_too_old(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import operators.handlers.wiring as wiring

    create_operator()
    now = [1_750_000_000.0]
    monkeypatch.setattr(wiring, "now_s", lambda: now[0])
    token = session_token(sign_in(context)[2])

    for _ in range(17):  # a request every 29 minutes keeps it alive ...
        now[0] += 29 * 60
        if now[0] - 1_750_000_000.0 >= 8 * 3600:
            break
        assert call(context, AUTH, "GET", "/auth/session", cookie=token)[0] == 200
    now[0] = 1_750_000_000.0 + 8 * 3600  # ... but never past 8 hours
    assert call(context, AUTH, "GET", "/auth/session", cookie=token)[0] == 401

    idle = session_token(sign_in(context)[2])
    now[0] += 31 * 60
    assert call(context, AUTH, "GET", "/auth/session", cookie=idle)[0] == 401


def test_a_cookie_authenticates_other_api_routes_with_csrf_on_posts(
    aws: Aws, context: LambdaContext
) -> None:
    create_operator()
    _, body, response = sign_in(context)
    token = session_token(response)

    assert (
        call(context, "revenue.handlers.api", "GET", "/v1/revenue/summary", cookie=token)[0] == 200
    )
    new_key = {"name": "from the dashboard", "scopes": ["billing:read"]}
    platform = "platform_api.handlers.api"
    missing = call(context, platform, "POST", "/v1/api-keys", body=new_key, cookie=token)
    forged = call(context, platform, "POST", "/v1/api-keys", body=new_key, cookie=token, csrf="x")
    made = call(
        context,
        platform,
        "POST",
        "/v1/api-keys",
        body=new_key,
        cookie=token,
        csrf=body["csrf_token"],
    )

    assert missing[0] == forged[0] == 403
    assert "X-CSRF-Token" in missing[1]["message"] and "does not match" in forged[1]["message"]
    assert made[0] == 201
    created = [e for e in aws.table("audit").scan()["Items"] if e["action"] == "api_key.created"]
    assert [e["actor"] for e in created] == [body["operator"]["operator_id"]]
    # an API key works as before, and wins over a cookie sent with it
    assert call(context, platform, "GET", "/v1/api-keys", key=aws.admin_key)[0] == 200
    assert (
        call(
            context, platform, "POST", "/v1/api-keys", body=new_key, key=aws.admin_key, cookie=token
        )[0]
        == 201
    )


def test_a_hash_made_with_weaker_parameters_is_replaced_at_sign_in(
    aws: Aws, context: LambdaContext
) -> None:
    from operators.handlers.wiring import directory, email_index
    from operators.logic.passwords import hasher

    old = hasher(memory_kib=8192, time_cost=1).hash(PASSWORD)
    directory().create(EMAIL, email_index(EMAIL), old, "2025-01-01T00:00:00Z")

    assert sign_in(context)[0] == 200

    [item] = [
        i for i in aws.table("operators").scan()["Items"] if str(i["pk"]).startswith("OPERATOR#")
    ]
    assert str(item["password_hash"]).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert sign_in(context)[0] == 200  # the new hash verifies the same password


def test_no_email_in_plaintext_at_rest(aws: Aws, context: LambdaContext) -> None:
    create_operator()
    sign_in(context)
    sign_in(context, password="wrong password!")
    for table in ("operators", "operator-sessions", "audit"):
        assert EMAIL not in json.dumps(aws.table(table).scan()["Items"], default=str)


def test_a_locked_email_hammered_is_audited_once_a_minute_with_its_count(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A locked refusal costs an attacker no hash: each must not cost the operators' chain a
    # write. The entries' refusals add up to every 429.
    import operators.handlers.wiring as wiring

    create_operator()
    now = [1_750_000_000.0]
    monkeypatch.setattr(wiring, "now_s", lambda: now[0])
    for _ in range(5):
        assert sign_in(context, password="wrong password!")[0] == 401

    first_minute = [sign_in(context)[0] for _ in range(40)]
    now[0] += 29  # still locked (30 s), and still inside the audit window (60 s)
    later = [sign_in(context)[0] for _ in range(9)]
    now[0] += 900  # the lock is over: the failure that locks again, then its refusals
    assert sign_in(context, password="wrong password!")[0] == 401
    after_window = [sign_in(context)[0] for _ in range(3)]

    assert first_minute + later + after_window == [429] * 52
    details = [
        json.loads(e["details"]) if isinstance(e["details"], str) else e["details"]
        for e in audit_actions(aws)
        if e["action"] == "operator.sign_in_failed"
    ]
    # The first refusal, then the 48 of the first window with the one that opened the next;
    # the last two wait for the entry after.
    assert [d["refusals"] for d in details if d["reason"] == "locked"] == [1, 48 + 1]
