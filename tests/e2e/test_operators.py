"""Operator sign-in end to end: the CLI creates an operator, the cookie signs API calls in."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser import DESKTOP, browser, confined_page
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
__all__ = ["browser"]  # the module-scoped fixture, used by name

EMAIL = "ops-e2e@example.com"
PASSWORD = "an e2e passphrase, long enough"
COOKIE = "__Host-cognitionos_session"


def create_operator(runner: Any, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.admin_operator",
            "--local",
            str(runner.log_path.parent / "local"),
            "--email",
            email,
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def operator_id(runner: Any) -> str:
    made = create_operator(runner, EMAIL, PASSWORD)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def sign_in(runner: Any, email: str = EMAIL, password: str = PASSWORD) -> Any:
    return runner.post("/auth/sign-in", key=None, json={"email": email, "password": password})


def cookie_header(response: Any) -> dict[str, str]:
    token = response.cookies.get(COOKIE) or _from_set_cookie(response)
    return {"Cookie": f"{COOKIE}={token}"}


def _from_set_cookie(response: Any) -> str:
    first = response.headers["set-cookie"].split(";", 1)[0]
    name, _, value = first.partition("=")
    assert name == COOKIE
    return value


def test_sign_in_sets_a_host_only_secure_strict_http_only_cookie(
    runner: Any, operator_id: str
) -> None:
    answer = sign_in(runner)

    assert answer.status_code == 200
    assert answer.json()["operator"] == {"operator_id": operator_id, "email": EMAIL}
    attributes = [a.strip() for a in answer.headers["set-cookie"].split(";")]
    name, _, token = attributes[0].partition("=")
    assert name == COOKIE and len(token) >= 43  # 256 random bits, base64url
    flags = {a.split("=", 1)[0].lower(): a.partition("=")[2] for a in attributes[1:]}
    assert flags == {
        "path": "/",
        "max-age": "28800",
        "httponly": "",
        "secure": "",
        "samesite": "Strict",
    }
    assert answer.headers["cache-control"] == "no-store"
    session = runner.get("/auth/session", key=None, headers=cookie_header(answer))
    assert session.status_code == 200 and session.json()["operator"]["email"] == EMAIL


def test_the_cookie_authenticates_api_calls_and_posts_need_the_csrf_token(
    runner: Any, operator_id: str
) -> None:
    answer = sign_in(runner)
    cookie, csrf = cookie_header(answer), answer.json()["csrf_token"]
    new_key = {"name": "made in the dashboard", "scopes": ["billing:read"]}

    assert runner.get("/v1/revenue/summary", key=None, headers=cookie).status_code == 200
    refused = runner.post("/v1/api-keys", key=None, json=new_key, headers=cookie)
    forged = runner.post(
        "/v1/api-keys", key=None, json=new_key, headers={**cookie, "X-CSRF-Token": "forged"}
    )
    made = runner.post(
        "/v1/api-keys", key=None, json=new_key, headers={**cookie, "X-CSRF-Token": csrf}
    )

    assert (refused.status_code, forged.status_code, made.status_code) == (403, 403, 201)
    assert "X-CSRF-Token" in refused.json()["message"]
    assert runner.get("/v1/api-keys").status_code == 200  # the admin key, as before
    events = runner.get("/v1/audit/events", params={"action": "api_key.created"}).json()
    assert operator_id in {e["actor"] for e in events["events"]}


def test_sign_out_ends_the_session_and_clears_the_cookie(runner: Any, operator_id: str) -> None:
    answer = sign_in(runner)
    cookie, csrf = cookie_header(answer), answer.json()["csrf_token"]

    assert runner.post("/auth/sign-out", key=None, headers=cookie).status_code == 403
    out = runner.post("/auth/sign-out", key=None, headers={**cookie, "X-CSRF-Token": csrf})

    assert out.status_code == 200 and out.json() == {"signed_out": True}
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert runner.get("/auth/session", key=None, headers=cookie).status_code == 401
    assert runner.get("/v1/revenue/summary", key=None, headers=cookie).status_code == 401


def test_unknown_email_and_wrong_password_answer_alike_and_lock_after_five(
    runner: Any, operator_id: str
) -> None:
    locked_email = "locked-e2e@example.com"
    assert create_operator(runner, locked_email, PASSWORD).returncode == 0
    wrong = sign_in(runner, email=locked_email, password="not the password!")
    unknown = sign_in(runner, email="nobody-e2e@example.com", password="not the password!")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.status_code == 401

    statuses = [sign_in(runner, locked_email, "still not it!").status_code for _ in range(4)]
    locked = sign_in(runner, locked_email)  # the right password, too late

    assert statuses == [401] * 4
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 30
    events = runner.get("/v1/audit/events", params={"action": "operator.sign_in_failed"}).json()
    reasons = {e["details"]["reason"] for e in events["events"]}
    assert {"wrong_password", "unknown_email", "locked"} <= reasons


def test_the_cli_refuses_a_short_password_and_a_taken_email(runner: Any, operator_id: str) -> None:
    short = create_operator(runner, "short-e2e@example.com", "too short")
    taken = create_operator(runner, EMAIL.upper(), PASSWORD)
    assert short.returncode == 2 and "at least 12" in short.stderr
    assert taken.returncode == 3 and "already exists" in taken.stderr


def test_the_dashboard_signs_in_with_the_cookie_and_out(
    browser: Browser, runner: Any, operator_id: str
) -> None:
    confined = confined_page(browser, runner.url, DESKTOP)
    page = confined.page
    page.goto(f"{runner.url}/dashboard")
    confined.wait_for_state("key")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("body[data-state='ready'], body[data-state='empty']")

    # Chromium takes a Secure __Host- cookie from http://127.0.0.1: a secure context.
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert confined.session_key() is None  # no key stored: the cookie does the work
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: scripts cannot read it
    page.reload()  # the session outlives a reload
    page.wait_for_selector("body[data-state='ready'], body[data-state='empty']")
    page.click("#sign-out")
    confined.wait_for_state("key")

    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert confined.console_errors == [] and confined.outside_requests == []
    page.context.close()
