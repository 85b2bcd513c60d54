"""Platform routes end to end: health, keys, jobs, OpenAPI and Swagger UI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_health_and_local_json(runner: Any) -> None:
    assert runner.get("/health", key=None).json() == {"status": "ok"}
    assert set(runner.info) == {
        "api_url",
        "admin_api_key",
        "stripe_webhook_secret",
        "aws_endpoint_url",
        "region",
    }
    assert runner.info["api_url"] == runner.url
    assert runner.info["admin_api_key"].startswith("cos_")
    assert runner.info["stripe_webhook_secret"] == runner.webhook_secret
    assert runner.info["region"] == "us-east-1"


def test_key_lifecycle_create_use_list_revoke(runner: Any) -> None:
    created = runner.post("/v1/api-keys", json={"name": "e2e reader", "scopes": ["billing:read"]})
    assert created.status_code == 201
    key = created.json()["key"]

    assert runner.get("/v1/billing/events", key=key).status_code == 200
    assert runner.get("/v1/api-keys", key=key).status_code == 403
    listed = runner.get("/v1/api-keys").json()["keys"]
    assert created.json()["key_id"] in {k["key_id"] for k in listed}
    assert key not in json.dumps(listed)

    revoked = runner.delete(f"/v1/api-keys/{created.json()['key_id']}")
    assert revoked.status_code == 200
    assert runner.get("/v1/billing/events", key=key).status_code == 401
    assert runner.delete("/v1/api-keys/0000000000000000").status_code == 404


def test_invalid_key_requests(runner: Any) -> None:
    assert runner.post("/v1/api-keys", json={"name": "x", "scopes": ["nope"]}).status_code == 422
    assert (
        runner.post(
            "/v1/api-keys", data=b"{oops", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert runner.get("/v1/api-keys", key="cos_0123456789abcdef_" + "z" * 43).status_code == 401


def test_a_job_runs_on_demand_and_an_unknown_job_is_404(runner: Any) -> None:
    ran = runner.post("/v1/admin/jobs/billing-reconcile")
    assert ran.status_code == 200
    assert ran.json() == {
        "job": "billing-reconcile",
        "summary": {"configured": False, "message": "set the stripe-api-key secret to reconcile"},
    }
    missing = runner.post("/v1/admin/jobs/no-such-job")
    assert missing.status_code == 404
    assert "no job 'no-such-job'" in missing.json()["message"]


def test_openapi_and_swagger_ui(runner: Any) -> None:
    document = runner.get("/v1/openapi.json", key=None)
    assert document.status_code == 200
    committed = json.loads(
        (Path(__file__).resolve().parents[2] / "functions/platform_api/openapi.json").read_text()
    )
    assert document.json() == committed
    page = runner.get("/docs", key=None)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "SwaggerUIBundle" in page.text
