"""What every /v1 route answers before it reads a request: the key first (401, 403), then a
JSON body's media type (415) and encoding (400), and only then the request's fields (422).

Each route is called through its own function's handler, as API Gateway would call it.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from infra import topology
from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext

# One request per /v1 route that breaks the route's schema: (method, path, query, body).
BAD_REQUESTS: dict[str, tuple[str, dict[str, str] | None, Any]] = {
    "POST /v1/api-keys": ("/v1/api-keys", None, {"name": "", "scopes": ["root"]}),
    "GET /v1/api-keys": ("/v1/api-keys", {"limit": "0"}, None),
    "DELETE /v1/api-keys/{key_id}": ("/v1/api-keys/" + "k" * 65, None, None),
    "POST /v1/admin/jobs/{job}": ("/v1/admin/jobs/Not_A_Job", None, None),
    "GET /v1/billing/events": ("/v1/billing/events", {"status": "lost"}, None),
    "GET /v1/billing/events/{event_id}": ("/v1/billing/events/" + "e" * 129, None, None),
    "GET /v1/billing/customers/{customer_id}": ("/v1/billing/customers/cus-1!", None, None),
    "GET /v1/billing/subscriptions/{subscription_id}": (
        "/v1/billing/subscriptions/sub-1!",
        None,
        None,
    ),
    "GET /v1/billing/dunning": ("/v1/billing/dunning", {"limit": "101"}, None),
    "GET /v1/revenue/summary": ("/v1/revenue/summary", {"as_of": "0000-00-00"}, None),
    "GET /v1/revenue/mrr": ("/v1/revenue/mrr", {"start": "2025-13"}, None),
    "GET /v1/revenue/churn": ("/v1/revenue/churn", {"month": "0000-01"}, None),
    "GET /v1/revenue/cohorts": ("/v1/revenue/cohorts", {"end": "March"}, None),
    "GET /v1/revenue/forecast": ("/v1/revenue/forecast", {"months": "0"}, None),
    "POST /v1/agents/runs": ("/v1/agents/runs", None, {"goal": "", "max_iterations": 6}),
    "GET /v1/agents/runs/{run_id}": ("/v1/agents/runs/run-1!", None, None),
    "POST /v1/agents/runs/{run_id}/cancel": ("/v1/agents/runs/run-1!/cancel", None, None),
    # alerts
    "POST /v1/alerts/channels": ("/v1/alerts/channels", None, {"name": "x", "type": "fax"}),
    "POST /v1/alerts/rules": ("/v1/alerts/rules", None, {"name": "x", "window_minutes": 0}),
    "POST /v1/alerts/silences": ("/v1/alerts/silences", None, {"match": {}, "ends_at": "soon"}),
    "GET /v1/alerts": ("/v1/alerts", {"status": "lost"}, None),
    "GET /v1/alerts/{alert_id}": ("/v1/alerts/alert-1!", None, None),
    "POST /v1/alerts/{alert_id}/ack": ("/v1/alerts/alert-1!/ack", None, None),
    "POST /v1/alerts/{alert_id}/resolve": ("/v1/alerts/alert-1!/resolve", None, None),
    # code validation: refused before anything is invoked
    "POST /v1/code/validations": ("/v1/code/validations", None, {"files": {"../x.py": ""}}),
    # audit
    "GET /v1/audit/events": ("/v1/audit/events", {"since": "yesterday"}, None),
    "GET /v1/audit/verify": ("/v1/audit/verify", {"tenant_id": "acme"}, None),
    "GET /v1/audit/export": ("/v1/audit/export", {"from_seq": "0"}, None),
    # privacy: export and erasure (a subject has exactly one of customer_id and email)
    "POST /v1/privacy/exports": (
        "/v1/privacy/exports",
        None,
        {"subject": {"customer_id": "cus_1", "email": "a@b.example"}},
    ),
    "GET /v1/privacy/exports/{request_id}": ("/v1/privacy/exports/exp-1!", None, None),
    "POST /v1/privacy/erasures": ("/v1/privacy/erasures", None, {"subject": {}}),
    "GET /v1/privacy/erasures/{request_id}": ("/v1/privacy/erasures/era-1!", None, None),
    # privacy: consent records
    "POST /v1/privacy/consents": (
        "/v1/privacy/consents",
        None,
        {"subject": {"customer_id": "cus_A"}, "purpose": "Ads!", "granted": "yes"},
    ),
    "GET /v1/privacy/consents": ("/v1/privacy/consents", {"customer_id": "ada@example.com"}, None),
}


def _keyed_routes() -> dict[str, str]:
    """Every route that needs an API key, and the handler that serves it."""
    return {
        f"{route.method} {route.path}": fn.handler
        for route, fn in topology.routes()
        if route.auth == "api_key"
    }


def call(
    context: LambdaContext,
    route_key: str,
    key: str | None,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    method = route_key.split(" ", 1)[0]
    path, query, bad_body = BAD_REQUESTS[route_key]
    given = {"content-type": "application/json", **(headers or {})}
    sent = {name: value for name, value in given.items() if value}  # "": not sent
    if key is not None:
        sent["authorization"] = f"Bearer {key}"
    payload = bad_body if body is None else body
    raw = payload if isinstance(payload, bytes | str) or payload is None else json.dumps(payload)
    module = importlib.import_module(_keyed_routes()[route_key].rsplit(".", 1)[0])
    response = module.lambda_handler(
        http_event(method, path, body=raw, headers=sent, query=query), context
    )
    return response["statusCode"], json.loads(response["body"])


def test_every_keyed_route_has_a_bad_request_here() -> None:
    assert set(BAD_REQUESTS) == set(_keyed_routes())


@pytest.mark.parametrize("route_key", sorted(BAD_REQUESTS))
def test_a_bad_request_is_401_without_a_good_key_403_without_the_scope_then_422(
    aws: Aws, context: LambdaContext, route_key: str
) -> None:
    from cognitionos.http import api_key_store

    # A key with one scope no route but the audit routes accepts (and one for those).
    scope = "billing:read" if "/v1/audit/" in route_key else "audit:read"
    auditor, _ = api_key_store().create("other", [scope], None, "2025-01-01T00:00:00Z")

    no_key = call(context, route_key, key=None)
    unknown_key = call(context, route_key, key="cos_0123456789abcdef_" + "x" * 43)
    without_scope = call(context, route_key, key=auditor.key)
    status, invalid = call(context, route_key, key=aws.admin_key)

    assert no_key == (
        401,
        {"message": "missing Authorization header; send 'Authorization: Bearer <api key>'"},
    )
    assert unknown_key == (401, {"message": "unknown API key"})
    assert without_scope[0] == 403
    assert without_scope[1]["message"].startswith("this API key lacks the '")
    assert status == 422
    assert invalid["message"]
    assert invalid["errors"] and all(isinstance(e, str) for e in invalid["errors"])


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None],
)
def test_a_body_that_is_not_json_is_415_naming_application_json(
    aws: Aws, context: LambdaContext, content_type: str | None
) -> None:
    status, body = call(
        context,
        "POST /v1/api-keys",
        aws.admin_key,
        body="name=x",
        headers={"content-type": content_type or ""},
    )

    assert status == 415
    assert "application/json" in body["message"]
    assert aws.table("api-keys").scan()["Count"] == 1  # only the admin key


def test_a_json_media_type_with_parameters_is_json(aws: Aws, context: LambdaContext) -> None:
    status, _ = call(
        context,
        "POST /v1/api-keys",
        aws.admin_key,
        body={"name": "ci", "scopes": ["billing:read"]},
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert status == 201


def test_a_body_that_is_not_utf8_is_400(aws: Aws, context: LambdaContext) -> None:
    status, body = call(context, "POST /v1/api-keys", aws.admin_key, body=b'{"name": "\xff"}')

    assert (status, body) == (400, {"message": "the request body is not UTF-8 text"})


def test_the_key_is_checked_before_the_media_type(aws: Aws, context: LambdaContext) -> None:
    status, _ = call(
        context,
        "POST /v1/api-keys",
        None,
        body="name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert status == 401
