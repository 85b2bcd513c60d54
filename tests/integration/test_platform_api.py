"""The platform API in process: health, key lifecycle, auth, jobs, OpenAPI and Swagger UI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext


def call(
    context: LambdaContext,
    method: str,
    path: str,
    key: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    from platform_api.handlers.api import lambda_handler

    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    response = lambda_handler(http_event(method, path, body=raw, headers=headers), context)
    text = response.get("body") or "null"
    content_type = response.get("headers", {}).get("Content-Type", "")
    return response["statusCode"], json.loads(text) if "json" in content_type else text


def test_health_needs_no_key(aws: Aws, context: LambdaContext) -> None:
    assert call(context, "GET", "/health") == (200, {"status": "ok"})


def test_an_admin_creates_a_key_that_is_shown_once_and_listed_without_secret(
    aws: Aws, context: LambdaContext
) -> None:
    status, created = call(
        context,
        "POST",
        "/v1/api-keys",
        key=aws.admin_key,
        body={"name": "ci", "scopes": ["billing:read"]},
    )

    assert status == 201
    assert created["key"].startswith(f"cos_{created['key_id']}_")
    _, listed = call(context, "GET", "/v1/api-keys", key=aws.admin_key)
    [mine] = [k for k in listed["keys"] if k["key_id"] == created["key_id"]]
    assert mine["scopes"] == ["billing:read"]
    assert created["key"] not in json.dumps(listed)
    stored = aws.table("api-keys").get_item(Key={"key_id": created["key_id"]})["Item"]
    from cognitionos.auth import parse_api_key

    _, secret = parse_api_key(created["key"])
    assert secret not in json.dumps(stored, default=str)


def test_a_revoked_key_gets_401_at_once(aws: Aws, context: LambdaContext) -> None:
    _, created = call(
        context,
        "POST",
        "/v1/api-keys",
        key=aws.admin_key,
        body={"name": "tmp", "scopes": ["admin"]},
    )
    assert call(context, "GET", "/v1/api-keys", key=created["key"])[0] == 200

    status, revoked = call(context, "DELETE", f"/v1/api-keys/{created['key_id']}", aws.admin_key)

    assert (status, revoked["revoked_at"] is not None) == (200, True)
    assert call(context, "GET", "/v1/api-keys", key=created["key"]) == (
        401,
        {"message": "this API key has been revoked"},
    )


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        (None, 401, "missing Authorization header"),
        ("not-a-key", 401, "malformed"),
        ("cos_0123456789abcdef_" + "x" * 43, 401, "unknown API key"),
    ],
)
def test_no_or_unknown_key_is_401(
    aws: Aws, context: LambdaContext, key: str | None, status: int, message: str
) -> None:
    got_status, body = call(context, "GET", "/v1/api-keys", key=key)
    assert got_status == status
    assert message in body["message"]


def test_a_right_key_id_with_a_wrong_secret_is_401(aws: Aws, context: LambdaContext) -> None:
    from cognitionos.auth import parse_api_key

    key_id, _ = parse_api_key(aws.admin_key)
    status, body = call(context, "GET", "/v1/api-keys", key=f"cos_{key_id}_" + "y" * 43)
    assert (status, body["message"]) == (401, "unknown API key")


def test_a_key_without_the_scope_is_403(aws: Aws, context: LambdaContext) -> None:
    _, reader = call(
        context,
        "POST",
        "/v1/api-keys",
        key=aws.admin_key,
        body={"name": "r", "scopes": ["billing:read"]},
    )
    status, body = call(context, "GET", "/v1/api-keys", key=reader["key"])
    assert (status, body["message"]) == (403, "this API key lacks the 'admin' scope")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "scopes": ["root"]}, 422),
        ({"name": "x", "scopes": []}, 422),
        ({"scopes": ["admin"]}, 422),
        ({"name": "x", "scopes": ["admin"], "tenant_id": "cus_1"}, 422),
        ({"name": "x", "scopes": ["billing:read"], "tenant_id": "acme"}, 422),
        ("{not json", 400),
    ],
)
def test_invalid_key_requests_are_refused_and_store_nothing(
    aws: Aws, context: LambdaContext, body: Any, status: int
) -> None:
    got, answer = call(context, "POST", "/v1/api-keys", key=aws.admin_key, body=body)
    assert got == status
    assert answer["message"]
    assert aws.table("api-keys").scan()["Count"] == 1  # only the admin key


def test_revoking_an_unknown_key_is_404(aws: Aws, context: LambdaContext) -> None:
    status, _ = call(context, "DELETE", "/v1/api-keys/0000000000000000", aws.admin_key)
    assert status == 404


def test_an_unknown_job_is_404(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_FUNCTIONS", json.dumps({"billing-reconcile": "fn-reconcile"}))
    status, body = call(context, "POST", "/v1/admin/jobs/nope", aws.admin_key)
    assert (status, "no job 'nope'" in body["message"]) == (404, True)


def test_openapi_document_lists_every_route_and_is_current(
    aws: Aws, context: LambdaContext
) -> None:
    from infra.openapi import render
    from infra.topology import routes

    status, document = call(context, "GET", "/v1/openapi.json")

    assert status == 200
    assert json.dumps(document, indent=2, sort_keys=True) + "\n" == render(), "run `make openapi`"
    pages = {"/health", "/docs", "/v1/openapi.json", "/dashboard"}  # not part of the API
    assert {r.path for r, _ in routes()} - pages == set(document["paths"])


def test_swagger_ui_is_served_with_its_assets_inlined(aws: Aws, context: LambdaContext) -> None:
    status, page = call(context, "GET", "/docs")
    assert status == 200
    assert "SwaggerUIBundle" in page
    assert "/v1/billing/events" in page
    assert "cdn.jsdelivr" not in page
