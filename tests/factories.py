"""Test factories: Stripe events in the 2025-03-31.basil shape, signatures, API Gateway events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

API_VERSION = "2025-03-31.basil"
_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}{next(_ids)}"


def subscription(
    sub_id: str = "sub_1",
    customer: str = "cus_1",
    status: str = "active",
    unit_amount: int = 2000,
    quantity: int = 1,
    interval: str = "month",
    period_end: int = 1_740_787_200,
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "currency": "usd",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "trial_end": None,
        "discounts": [],
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "quantity": quantity,
                    "current_period_start": period_end - 28 * 86400,
                    "current_period_end": period_end,
                    "price": {
                        "id": "price_pro",
                        "object": "price",
                        "product": "prod_pro",
                        "unit_amount": unit_amount,
                        "currency": "usd",
                        "recurring": {"interval": interval, "interval_count": 1},
                    },
                }
            ],
        },
    }


def invoice(
    invoice_id: str = "in_1", customer: str = "cus_1", status: str = "paid", sub_id: str = "sub_1"
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "customer_email": "jenny.rosen@example.com",
        "status": status,
        "currency": "usd",
        "amount_due": 2000,
        "amount_paid": 2000 if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else 2000,
        "attempt_count": 1,
        "next_payment_attempt": None,
        "billing_reason": "subscription_cycle",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
        },
    }


def customer(
    customer_id: str = "cus_1", email: str | None = "jenny.rosen@example.com"
) -> dict[str, Any]:
    return {"id": customer_id, "object": "customer", "email": email, "name": "Jenny Rosen"}


def stripe_event(
    event_type: str, obj: dict[str, Any], created: int | None = None, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or _next_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created if created is not None else int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def padded(event: dict[str, Any], size: int) -> dict[str, Any]:
    """``event`` grown to exactly ``size`` bytes of ``json.dumps`` by a long metadata note on
    its object (a Stripe object with much metadata, or many expanded lines, is this large)."""
    obj = {**event["data"]["object"], "metadata": {"note": ""}}
    grown = {**event, "data": {**event["data"], "object": obj}}
    obj["metadata"]["note"] = "x" * (size - len(json.dumps(grown)))
    assert len(json.dumps(grown)) == size, "size is smaller than the event itself"
    return grown


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header as Stripe computes it."""
    raw = payload.encode() if isinstance(payload, str) else payload
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event the local runner builds for this request,
    its route matched against the topology as API Gateway would."""
    from infra import topology
    from infra.local.apigw import HttpRequest, RouteTable, build_event, new_request_id

    routes = RouteTable((route.method, route.path, fn.name) for route, fn in topology.routes())
    match = routes.match(method, path)
    assert match is not None, f"no topology route serves {method} {path}"
    raw = body.encode() if isinstance(body, str) else (body or b"")
    target = f"{path}?{urlencode(query)}" if query else path
    request = HttpRequest(method, target, list((headers or {}).items()), raw)
    return build_event(request, match, new_request_id())


def sqs_event(bodies: list[str], queue_arn: str, group_of: Any = None) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping builds it for a FIFO queue."""
    records = []
    for n, body in enumerate(bodies):
        parsed = json.loads(body)
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": base64.b64encode(uuid.uuid4().bytes).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AIDATEST",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                    "MessageGroupId": group_of(parsed) if group_of else "group",
                    "MessageDeduplicationId": parsed.get("id", str(n)),
                    "SequenceNumber": str(10**19 + n),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def pk_sk_table(dynamodb: Any, name: str, index: tuple[str, str, str] | None = None) -> Any:
    """A bare on-demand table keyed like the billing table (``pk``, ``sk``), with at most one
    global secondary index ``(name, partition key, sort key)`` projecting everything."""
    keys = ["pk", "sk", *(index[1:] if index else ())]
    indexes = (
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index[0],
                    "KeySchema": [
                        {"AttributeName": index[1], "KeyType": "HASH"},
                        {"AttributeName": index[2], "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        }
        if index
        else {}
    )
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
        **indexes,
    )
