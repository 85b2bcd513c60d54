"""GET /v1/billing/events[/{id}]: filters, paging, scopes and tenant isolation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.factories import http_event, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_platform_api import call as platform_call
from tests.integration.test_process_events import ingest, process


def get(
    context: LambdaContext, path: str, key: str, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    from billing.handlers.api import lambda_handler

    event = http_event("GET", path, headers={"authorization": f"Bearer {key}"}, query=query)
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def seed(aws: Aws, context: LambdaContext) -> list[dict[str, Any]]:
    events = [
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id="sub_a", customer="cus_a"),
            created=100,
        ),
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id="sub_b", customer="cus_b"),
            created=200,
        ),
        stripe_event("product.created", {"id": "prod_1", "object": "product"}, created=300),
    ]
    process(aws, context, ingest(aws, context, *events))
    return events


def key_for(aws: Aws, context: LambdaContext, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, Any] = {"name": "t", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    return str(
        platform_call(context, "POST", "/v1/api-keys", key=aws.admin_key, body=body)[1]["key"]
    )


def test_the_log_lists_newest_first_with_the_contract_fields(
    aws: Aws, context: LambdaContext
) -> None:
    events = seed(aws, context)
    status, body = get(context, "/v1/billing/events", aws.admin_key)
    assert status == 200
    assert [e["id"] for e in body["events"]] == [e["id"] for e in reversed(events)]
    assert set(body["events"][0]) == {"id", "type", "created", "status", "received_at", "error"}
    assert body["events"][-1]["created"] == "1970-01-01T00:01:40Z"


def test_filters_by_status_and_type(aws: Aws, context: LambdaContext) -> None:
    seed(aws, context)
    _, ignored = get(context, "/v1/billing/events", aws.admin_key, {"status": "ignored"})
    _, subs = get(
        context, "/v1/billing/events", aws.admin_key, {"type": "customer.subscription.created"}
    )
    assert [e["type"] for e in ignored["events"]] == ["product.created"]
    assert {e["status"] for e in subs["events"]} == {"processed"}
    assert len(subs["events"]) == 2


def test_pages_with_next_token_until_exhausted(aws: Aws, context: LambdaContext) -> None:
    events = seed(aws, context)
    seen: list[str] = []
    token: str | None = None
    while True:
        query = {"limit": "1"} | ({"next_token": token} if token else {})
        _, page = get(context, "/v1/billing/events", aws.admin_key, query)
        seen += [e["id"] for e in page["events"]]
        token = page["next_token"]
        if not token:
            break
    assert sorted(seen) == sorted(e["id"] for e in events)


def test_bad_query_values_are_422_and_a_forged_token_400(aws: Aws, context: LambdaContext) -> None:
    assert get(context, "/v1/billing/events", aws.admin_key, {"status": "lost"})[0] == 422
    assert get(context, "/v1/billing/events", aws.admin_key, {"limit": "0"})[0] == 422
    assert get(context, "/v1/billing/events", aws.admin_key, {"next_token": "garbage"})[0] == 400


@pytest.mark.parametrize(
    "key",
    [
        {"gsi2pk": "EVENTS"},  # the listing's partition, no position in it
        {"pk": "EVENT#evt_1", "sk": "EVENT", "gsi2pk": "EVENTS", "gsi2sk": 7},
    ],
)
def test_a_token_of_the_listing_that_is_no_key_is_400(
    aws: Aws, context: LambdaContext, key: dict[str, Any]
) -> None:
    seed(aws, context)
    token = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    status, body = get(context, "/v1/billing/events", aws.admin_key, {"next_token": token})

    assert (status, body) == (400, {"message": "next_token is not a token this API issued"})


def test_a_tenant_key_sees_only_its_customer(aws: Aws, context: LambdaContext) -> None:
    events = seed(aws, context)
    tenant = key_for(aws, context, ["billing:read"], tenant="cus_a")

    _, listed = get(context, "/v1/billing/events", tenant)
    other = get(context, f"/v1/billing/events/{events[1]['id']}", tenant)

    assert [e["id"] for e in listed["events"]] == [events[0]["id"]]
    assert other[0] == 404


def test_one_event_by_id_and_unknown_is_404(aws: Aws, context: LambdaContext) -> None:
    events = seed(aws, context)
    status, body = get(context, f"/v1/billing/events/{events[0]['id']}", aws.admin_key)
    assert (status, body["status"]) == (200, "processed")
    assert get(context, "/v1/billing/events/evt_nope", aws.admin_key)[0] == 404


def test_a_key_without_billing_read_is_403(aws: Aws, context: LambdaContext) -> None:
    other = key_for(aws, context, ["revenue:read"])
    assert get(context, "/v1/billing/events", other)[0] == 403
