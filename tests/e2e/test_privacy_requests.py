"""GDPR export and verified erasure end to end, through a local runner of its own (a key-cache
bound of 2 s, so an erasure completes within seconds): customers arrive as signed Stripe
webhooks, the subject gets an agent run, an email alert channel and a consent record; then
export by id and by email, erasure, and a raw scan of the runner's moto for what is left."""

from __future__ import annotations

import base64
import calendar
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from boto3.dynamodb.types import Binary, TypeDeserializer

from tests.e2e.delivery import event_statuses
from tests.e2e.fake_llm import fake_llm
from tests.factories import invoice, padded, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

KEY_CACHE_BOUND_S = "2"
LARGE = 400 * 1024  # bytes: over what SQS takes
SUFFIX = uuid.uuid4().hex[:8]
PREFIX = "cognitionos-"
_DESERIALIZE = TypeDeserializer().deserialize


@dataclass
class Person:
    customer_id: str
    email: str
    name: str
    phone: str
    street: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def plaintext(self) -> list[str]:
        return [self.email, self.name, self.phone, self.street]


def stripe_customer(person: Person) -> dict[str, Any]:
    """A customer as Stripe sends it (openapi/fixtures3.json's shape), address and phone too."""
    return {
        "id": person.customer_id,
        "object": "customer",
        "address": {
            "city": "London",
            "country": "GB",
            "line1": person.street,
            "line2": None,
            "postal_code": "NW1 6XE",
            "state": None,
        },
        "balance": 0,
        "created": 1_700_000_000,
        "currency": "usd",
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": person.email,
        "invoice_prefix": "0759376C",
        "invoice_settings": {"custom_fields": None, "default_payment_method": None},
        "livemode": False,
        "metadata": {},
        "name": person.name,
        "phone": person.phone,
        "preferred_locales": [],
        "shipping": {
            "address": {"city": "London", "country": "GB", "line1": person.street},
            "name": person.name,
            "phone": person.phone,
        },
        "tax_exempt": "none",
    }


def person(tag: str) -> Person:
    cus = f"cus_priv{tag}{SUFFIX}"
    return Person(
        customer_id=cus,
        email=f"{tag.lower()}.lovelace.{SUFFIX}@example.org",
        name=f"Augusta {tag} Byron{SUFFIX}",
        phone=f"+44 20 7946 {SUFFIX[:4]}",
        street=f"{SUFFIX[:3]} Marylebone Road {tag}",
    )


def billing_history(p: Person) -> list[dict[str, Any]]:
    """A customer, a subscription, a paid invoice, a failed payment (dunning), a refund."""
    # Object ids that do not spell the customer id, as Stripe's do not.
    tag = p.customer_id[-9:][::-1]
    sub, paid, failed = f"sub_{tag}", f"in_{tag}1", f"in_{tag}2"
    now = int(time.time())
    failing = {
        **invoice(failed, p.customer_id, "open", sub),
        "customer_email": p.email,
        "amount_paid": 0,
        "amount_remaining": 2000,
        "attempt_count": 1,
        "next_payment_attempt": now + 3 * 86400,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{failed}",
        "period_end": now,
    }
    charge = {
        "id": f"ch_{tag}",
        "object": "charge",
        "customer": p.customer_id,
        "status": "succeeded",
        "currency": "usd",
        "amount": 2000,
        "amount_refunded": 2000,
        "refunded": True,
        "invoice": paid,
        "billing_details": {"email": p.email, "name": p.name, "phone": p.phone},
    }
    return [
        stripe_event("customer.created", stripe_customer(p), created=now - 50),
        stripe_event(
            "customer.subscription.created", subscription(sub, p.customer_id), created=now - 40
        ),
        stripe_event(
            "invoice.paid",
            {**invoice(paid, p.customer_id, "paid", sub), "period_end": now},
            created=now - 30,
        ),
        stripe_event("invoice.payment_failed", failing, created=now - 20),
        stripe_event("charge.refunded", charge, created=now - 10),
        # Too large to queue: parked in the event-bodies bucket until applied (a claim check).
        padded(stripe_event("customer.updated", stripe_customer(p), created=now - 5), LARGE),
    ]


def deliver(runner: Any, people: list[Person]) -> None:
    ids = set()
    for p in people:
        p.events = billing_history(p)
        for event in p.events:
            answer = runner.post_stripe(json.dumps(event).encode())
            assert answer.status_code == 200, answer.text
            ids.add(event["id"])

    def processed() -> bool:
        statuses = event_statuses(runner, ids)
        assert not [s for s in statuses.values() if s["status"] == "failed"], statuses
        return len(statuses) == len(ids) and all(
            s["status"] == "processed" for s in statuses.values()
        )

    runner.wait_for(processed, timeout=120, interval=0.5)


def new_key(runner: Any, scopes: list[str], tenant_id: str | None = None) -> str:
    body: dict[str, Any] = {"name": f"privacy {SUFFIX}", "scopes": scopes}
    if tenant_id:
        body["tenant_id"] = tenant_id
    answer = runner.post("/v1/api-keys", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def _text(value: Any) -> str:
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode()
    return str(value)


def raw_records(runner: Any) -> Iterator[tuple[str, str, str]]:
    """(store, key, text) of every item of every table and every object of every bucket of
    the runner's moto, read with plain boto3 (as anyone with the account's keys could)."""
    dynamodb, s3 = runner.client("dynamodb"), runner.client("s3")
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for raw in page.get("Items", []):
                item = {k: _DESERIALIZE(v) for k, v in raw.items()}
                key = f"{item.get('pk', '')}|{item.get('sk', '')}"
                yield f"table:{table}", key, json.dumps(item, default=_text)
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for listed in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=listed["Key"])["Body"].read()
                yield f"bucket:{bucket['Name']}", listed["Key"], body.decode(errors="replace")


# Exports are the one place personal data is meant to be readable: the subject's own copy,
# encrypted at rest (SSE-KMS), behind a presigned URL, deleted after 7 days or on erasure.
EXPORTS_BUCKET = f"bucket:{PREFIX}privacy-exports"


def plaintext_hits(runner: Any, values: list[str]) -> list[str]:
    wanted = [v.casefold() for v in values]
    return [
        f"{store} {key}"
        for store, key, text in raw_records(runner)
        if store != EXPORTS_BUCKET and any(v in text.casefold() for v in wanted)
    ]


@dataclass
class World:
    runner: Any
    subject: Person
    other: Person
    subject_key: str
    other_key: str
    run_id: str
    channel_id: str
    first_export: str = ""


@pytest.fixture(scope="module")
def world(start_runner: Any) -> Iterator[World]:
    with start_runner("privacy", COGNITION_KEY_CACHE_MAX_AGE_S=KEY_CACHE_BOUND_S) as runner:
        subject, other = person("A"), person("B")
        deliver(runner, [subject, other])
        rollup = runner.post("/v1/admin/jobs/revenue-rollup")  # per-customer MRR timelines
        assert rollup.status_code == 200, rollup.text
        scopes = ["privacy:manage", "agents:run", "billing:read"]
        subject_key = new_key(runner, scopes, subject.customer_id)
        other_key = new_key(runner, scopes, other.customer_id)
        goal = f"Summarise the churn of {SUFFIX}"
        fake_llm().route(goal)
        started = runner.post("/v1/agents/runs", key=subject_key, json={"goal": goal})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        runner.wait_for(
            lambda: (
                runner.get(f"/v1/agents/runs/{run_id}", key=subject_key).json()["status"]
                in ("succeeded", "needs_review")
            ),
            timeout=90,
        )
        channel = runner.post(
            "/v1/alerts/channels",
            json={
                "name": f"finance {SUFFIX}",
                "type": "email",
                "config": {"to": [subject.email, "ops@example.com"]},
            },
        )
        assert channel.status_code == 201, channel.text
        # The consent record, as the consent routes store it (pk CONSENT#<customer>).
        runner.client("dynamodb").put_item(
            TableName=f"{PREFIX}privacy",
            Item={
                "pk": {"S": f"CONSENT#{subject.customer_id}"},
                "sk": {"S": "2026-12-01T10:00:00Z#con_1"},
                "consent_id": {"S": "con_1"},
                "purpose": {"S": "marketing_email"},
                "granted": {"BOOL": True},
                "notice_version": {"S": "2026-11"},
                "method": {"S": "checkbox"},
                "time": {"S": "2026-12-01T10:00:00Z"},
            },
        )
        yield World(
            runner,
            subject,
            other,
            subject_key,
            other_key,
            run_id,
            channel.json()["channel_id"],
        )


def ended(runner: Any, path: str, key: Any = None, timeout: float = 90) -> dict[str, Any]:
    kwargs = {} if key is None else {"key": key}

    def check() -> dict[str, Any] | None:
        answer = runner.get(path, **kwargs)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return body if body["status"] != "pending" else None

    return dict(runner.wait_for(check, timeout=timeout, interval=0.5))


def export_of(runner: Any, subject: dict[str, str], key: Any = None) -> tuple[dict, dict]:
    kwargs = {} if key is None else {"key": key}
    accepted = runner.post("/v1/privacy/exports", json={"subject": subject}, **kwargs)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "pending"
    view = ended(runner, f"/v1/privacy/exports/{accepted.json()['request_id']}", key)
    assert view["status"] == "completed", view
    download = requests.get(view["download_url"], timeout=30)
    assert download.status_code == 200
    return view | {"request_id": accepted.json()["request_id"]}, download.json()


def test_1_an_export_lists_every_record_of_the_subject_with_the_article_15_section(
    world: World,
) -> None:
    runner, subject = world.runner, world.subject
    view, document = export_of(runner, {"customer_id": subject.customer_id}, world.subject_key)
    world.first_export = view["request_id"]
    data = document["data"]
    counts = {category: len(records) for category, records in data.items()}
    print(f"\nexport of {subject.customer_id}: {view['records']} records, {counts}")

    assert document["subject"] == {"customer_id": subject.customer_id}
    assert [c["email"] for c in data["customer"]] == [subject.email]
    assert [c["name"] for c in data["customer"]] == [subject.name]
    tag = subject.customer_id[-9:][::-1]
    assert {s["id"] for s in data["subscriptions"]} == {f"sub_{tag}"}
    assert {i["id"] for i in data["invoices"]} == {f"in_{tag}1", f"in_{tag}2"}
    assert {p["id"] for p in data["payments"]} == {f"ch_{tag}"}
    assert f"in_{tag}2" in [d["invoice_id"] for d in data["dunning_emails"]]
    assert {e["id"] for e in data["billing_events"]} == {e["id"] for e in subject.events}
    assert [r["run_id"] for r in data["agent_runs"]] == [world.run_id]
    assert data["agent_runs"][0]["goal"].startswith("Summarise the churn")
    assert (
        len(data["agent_memory"]) == 1 and "Summarise the churn" in data["agent_memory"][0]["text"]
    )
    assert data["alert_emails"] == [
        {
            "channel_id": world.channel_id,
            "type": "email",
            "name": f"finance {SUFFIX}",
            "recipient": subject.email,
        }
    ]
    assert [c["purpose"] for c in data["consents"]] == ["marketing_email"]
    assert (
        len(data["revenue"]) == 1 and data["revenue"][0]["pk"] == f"CUSTOMER#{subject.customer_id}"
    )
    assert data["audit"] and all(
        e["tenant_id"] == subject.customer_id or subject.customer_id in e["resource"]
        for e in data["audit"]
    )
    assert set(document["processing"]) == {
        "purposes",
        "recipients",
        "retention",
        "sources",
        "rights",
    }
    assert view["records"] == sum(counts.values())
    other_ids = json.dumps(document)
    assert world.other.customer_id not in other_ids and world.other.email not in other_ids


def test_2_an_export_by_email_finds_the_same_customer(world: World) -> None:
    _, by_id = export_of(world.runner, {"customer_id": world.subject.customer_id})
    _, by_email = export_of(world.runner, {"email": world.subject.email.upper()})
    assert by_email["subject"] == {"customer_id": world.subject.customer_id}
    assert by_email["data"]["invoices"] == by_id["data"]["invoices"]


def test_3_a_tenant_bound_key_exports_and_erases_only_its_own_tenant(world: World) -> None:
    runner, other = world.runner, world.other
    for route in ("/v1/privacy/exports", "/v1/privacy/erasures"):
        refused = runner.post(
            route, key=world.subject_key, json={"subject": {"customer_id": other.customer_id}}
        )
        assert refused.status_code == 403, refused.text
    by_email = runner.post(
        "/v1/privacy/exports", key=world.subject_key, json={"subject": {"email": other.email}}
    )
    assert by_email.status_code == 202
    view = ended(runner, f"/v1/privacy/exports/{by_email.json()['request_id']}", world.subject_key)
    assert view["status"] == "failed" and view["download_url"] is None
    assert view["reason"] == "the subject is not this API key's tenant"
    others = runner.post(
        "/v1/privacy/exports",
        key=world.other_key,
        json={"subject": {"customer_id": other.customer_id}},
    ).json()["request_id"]
    assert runner.get(f"/v1/privacy/exports/{others}", key=world.subject_key).status_code == 404
    ended(runner, f"/v1/privacy/exports/{others}", world.other_key)


def test_4_after_erasure_nothing_shows_the_subjects_personal_data(world: World) -> None:
    runner, subject, other = world.runner, world.subject, world.other
    if not world.first_export:  # test 1 ran on the other xdist worker, with its own world
        world.first_export = export_of(runner, {"customer_id": subject.customer_id})[0][
            "request_id"
        ]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    revenue_before = runner.get("/v1/revenue/summary", params={"as_of": today}).json()
    assert revenue_before["mrr"] >= 2000 and revenue_before["paying_customers"] >= 1
    accepted = runner.post(
        "/v1/privacy/erasures",
        key=world.subject_key,
        json={"subject": {"customer_id": subject.customer_id}},
    )
    assert accepted.status_code == 202, accepted.text
    path = f"/v1/privacy/erasures/{accepted.json()['request_id']}"
    phases = set()

    def finished() -> dict[str, Any] | None:
        body = runner.get(path, key=world.subject_key).json()
        phases.add(body["phase"])
        return body if body["status"] != "pending" else None

    started = time.monotonic()
    result = runner.wait_for(finished, timeout=120, interval=0.3)
    print(f"\nerasure: {time.monotonic() - started:.1f} s, phases seen {sorted(map(str, phases))}")
    print(json.dumps(result, indent=1))

    # The result: completed (scan clean), what was erased, retained and why, what expires later.
    assert result["status"] == "completed", result
    assert result["verification"]["leaks"] == []
    assert result["verification"]["plaintext_checked"] is True
    assert result["verification"]["scanned"] > 50
    erased = result["erased"]
    assert {
        "customer": 1,
        "subscriptions": 1,
        "agent_runs": 1,
        "agent_memory": 1,
        "alert_emails": 1,
    }.items() <= erased.items()
    # The failed payment's open case, and the paid invoice's closed one.
    assert erased["dunning_emails"] == 2
    retained = {r["category"]: r for r in result["retained"]}
    assert retained["invoices"]["count"] == 2 and "HGB" in retained["invoices"]["basis"]
    assert retained["invoices"]["until"] >= "2036-12-31"
    assert retained["payments"]["count"] == 1
    assert retained["consents"]["count"] == 1 and "Art. 7(1)" in retained["consents"]["basis"]
    assert "audit" in retained
    assert {p["store"] for p in result["pending_expiry"]} >= {
        "queue:billing-events",
        "queue:billing-events-dlq",
        "dynamodb:point-in-time-recovery",
    }
    assert "awaiting_key_cache_expiry" in phases
    destroyed = calendar.timegm(time.strptime(result["key_destroyed_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert destroyed <= time.time() - float(KEY_CACHE_BOUND_S) + 1  # completed after the bound

    # No API shows them.
    assert runner.get(f"/v1/billing/customers/{subject.customer_id}").status_code == 404
    assert runner.get(f"/v1/agents/runs/{world.run_id}").status_code == 404
    # Their earlier exports' files are deleted, and those requests say so.
    earlier = runner.get(f"/v1/privacy/exports/{world.first_export}").json()
    assert earlier["status"] == "completed" and earlier["download_url"] is None
    assert earlier["reason"] == "the export file was deleted when its subject was erased"
    # No export: a new export of the customer id finds no record of them.
    _, after = export_of(runner, {"customer_id": subject.customer_id})
    assert {k: v for k, v in after["data"].items() if v and k not in ("audit", "consents")} == {}
    assert subject.email not in json.dumps(after) and subject.name not in json.dumps(after)
    # No table or bucket holds their plaintext (raw boto3 against the runner's moto).
    assert plaintext_hits(runner, [subject.email, subject.name]) == []
    # No ciphertext of theirs can be decrypted: their data key is a tombstone.
    key_item = runner.client("dynamodb").get_item(
        TableName=f"{PREFIX}subject-keys", Key={"subject_id": {"S": subject.customer_id}}
    )["Item"]
    assert key_item == {"subject_id": {"S": subject.customer_id}, "erased": {"BOOL": True}}
    # Their agent memory is gone.
    memory = runner.client("dynamodb").query(
        TableName=f"{PREFIX}agents",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MEMORY#{subject.customer_id}"}},
    )
    assert memory["Items"] == []
    # Their invoices remain, pseudonymised, with a retention TTL.
    tag = subject.customer_id[-9:][::-1]
    for suffix in ("1", "2"):
        item = runner.client("dynamodb").get_item(
            TableName=f"{PREFIX}billing",
            Key={"pk": {"S": f"INVOICE#in_{tag}{suffix}"}, "sk": {"S": "STATE"}},
        )["Item"]
        assert item["customer_id"]["S"].startswith("anon_")
        assert subject.customer_id not in json.dumps(item)
        assert int(item["expires_at"]["N"]) > time.time() + 9 * 365 * 86400
    # Revenue still counts them, under the pseudonym: the totals do not move.
    assert runner.post("/v1/admin/jobs/revenue-rollup").status_code == 200
    revenue_after = runner.get("/v1/revenue/summary", params={"as_of": today}).json()
    assert revenue_after == revenue_before
    assert "revenue" in retained
    # The other customer is intact.
    kept = runner.get(f"/v1/billing/customers/{other.customer_id}", key=world.other_key)
    assert kept.status_code == 200, kept.text
    assert kept.json()["email"] == other.email
    _, other_export = export_of(runner, {"customer_id": other.customer_id})
    assert len(other_export["data"]["invoices"]) == 2
    # A redelivery of the finished erasure changes nothing.
    assert runner.get(path, key=world.subject_key).json() == result


def test_5_customers_from_webhooks_leave_no_plaintext_email_name_address_or_phone(
    world: World,
) -> None:
    """A raw scan of every table and bucket of the runner's moto, after customers (with
    address and phone) arrived as webhooks: none of their personal data in the clear."""
    other = world.other
    hits = plaintext_hits(world.runner, other.plaintext)
    print(f"\nplaintext of {other.customer_id} found in: {hits}")
    assert hits == []
    # Its large event was parked in event-bodies and deleted once applied.
    s3 = world.runner.client("s3")
    parked = s3.list_objects_v2(Bucket=f"{PREFIX}event-bodies").get("Contents", [])
    assert parked == []
