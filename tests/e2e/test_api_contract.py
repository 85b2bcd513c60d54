"""The answers every route gives before it reads a request, through the local runner: the key
first (401 before any 422), a JSON body's media type (415) and encoding (400), and API
Gateway's 404 for a path or method no route serves."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

NOT_FOUND = {"message": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/api-keys?limit=0"),
        ("POST", "/v1/admin/jobs/Not_A_Job"),
        ("GET", "/v1/billing/events?status=lost"),
        ("GET", "/v1/billing/customers/cus-1!"),
        ("GET", "/v1/revenue/churn?month=0000-01"),
        ("GET", "/v1/revenue/forecast?months=0"),
    ],
)
def test_a_bad_request_without_a_key_is_401_not_422(runner: Any, method: str, path: str) -> None:
    unauthenticated = runner.request(method, path, key=None)
    authenticated = runner.request(method, path)

    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {
        "message": "missing Authorization header; send 'Authorization: Bearer <api key>'"
    }
    assert authenticated.status_code == 422


def test_a_bad_body_without_a_key_is_401(runner: Any) -> None:
    answer = runner.post("/v1/api-keys", key=None, json={"name": "", "scopes": ["root"]})

    assert answer.status_code == 401


def test_a_form_encoded_body_is_415_naming_application_json(runner: Any) -> None:
    # What `curl -d 'name=x' .../v1/api-keys` sends.
    answer = runner.post(
        "/v1/api-keys",
        data=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 415
    assert answer.json() == {
        "message": "the body must be JSON, sent with 'Content-Type: application/json'; got "
        "'application/x-www-form-urlencoded'"
    }


def test_a_body_that_is_not_utf8_is_400(runner: Any) -> None:
    answer = runner.post(
        "/v1/api-keys",
        data=b'{"name": "caf\xe9", "scopes": ["billing:read"]}',
        headers={"Content-Type": "application/json"},
    )

    assert (answer.status_code, answer.json()) == (
        400,
        {"message": "the request body is not UTF-8 text"},
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/no-such-route"),
        ("PUT", "/v1/api-keys"),  # a path that exists, with a method no route declares
        ("TRACE", "/v1/billing/events"),  # a method http.server has no handler for
        ("BREW", "/webhooks/stripe"),
    ],
)
def test_a_path_or_method_no_route_serves_is_api_gateways_json_404(
    runner: Any, method: str, path: str
) -> None:
    answer = runner.request(method, path)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == NOT_FOUND
