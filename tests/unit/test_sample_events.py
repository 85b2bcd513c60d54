"""The sample events under events/ stay realistic, self-consistent and in step with the code.

They are what ``sam local invoke -e`` and the README examples feed the functions, so each must
parse with the same classes the handlers use (Powertools data classes, the Stripe SDK) and
match the topology's routes, the FIFO queue and the kernel's schedule event.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, SQSEvent

from cognitionos.jobs import is_on_demand, job_name, schedule_event
from infra import topology

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = REPO_ROOT / "events"
API_VERSION = "2025-03-31.basil"
CUSTOMER = "cus_QxZ7Lh2nE3vT1a"

# The story the Stripe samples tell, in the order Stripe created the events.
STORY = (
    "customer.created",
    "customer.subscription.created",
    "charge.succeeded",
    "invoice.paid",
    "customer.updated",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "customer.subscription.deleted",
)
SQS_BATCH = ("customer.subscription.created", "invoice.paid", "invoice.payment_failed")

# The stale signature the webhook sample is committed with (see events/README.md).
PLACEHOLDER_SECRET = "whsec_cognitionos_sample_placeholder_not_a_secret"
API_KEY_HEADER = re.compile(r"^Bearer cos_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def stripe_text(name: str) -> str:
    return (EVENTS / "stripe" / f"{name}.json").read_text(encoding="utf-8")


def stripe_sample(name: str) -> dict[str, Any]:
    return dict(json.loads(stripe_text(name)))


def sample_name(route: topology.Route) -> str:
    """``GET /v1/billing/events/{event_id}`` -> ``get_v1_billing_events_event_id``."""
    slug = re.sub(r"[^a-z0-9]+", "_", route.path.lower()).strip("_")
    return f"{route.method.lower()}_{slug}"


def route_regex(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{pattern}$")


def walk_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from walk_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk_keys(inner)


ROUTES = {route.route_key: route for route, _ in topology.routes()}
APIGW_FILES = sorted((EVENTS / "apigw").glob("*.json"))
STRIPE_FILES = sorted((EVENTS / "stripe").glob("*.json"))


def _sign_webhook_module() -> Any:
    spec = importlib.util.spec_from_file_location("sign_webhook", EVENTS / "sign_webhook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- API Gateway HTTP API (payload v2.0) --------------------------------------------------


@pytest.mark.parametrize("route_key", sorted(ROUTES))
def test_every_route_has_a_sample(route_key: str) -> None:
    path = EVENTS / "apigw" / f"{sample_name(ROUTES[route_key])}.json"
    assert path.is_file(), f"add {path.relative_to(REPO_ROOT)} for {route_key}"
    assert load(path)["routeKey"] == route_key


def test_no_sample_for_an_unknown_route() -> None:
    expected = {sample_name(route) for route in ROUTES.values()}
    assert {p.stem for p in APIGW_FILES} == expected


@pytest.mark.parametrize("path", APIGW_FILES, ids=lambda p: p.stem)
def test_apigw_sample_parses_and_matches_its_route(path: Path) -> None:
    raw = load(path)
    event = APIGatewayProxyEventV2(raw)
    assert event.version == "2.0"
    route = ROUTES[event.route_key]
    assert event.request_context.route_key == event.route_key
    assert event.request_context.http.method == route.method
    assert event.request_context.http.path == event.raw_path
    assert event.request_context.stage == "$default"
    assert event.request_context.request_id
    assert isinstance(event.request_context.time_epoch, int)
    assert event.request_context.http.source_ip == event.headers["x-forwarded-for"]

    match = route_regex(route.path).match(event.raw_path)
    assert match, f"{event.raw_path} does not fit {route.path}"
    assert (event.path_parameters or {}) == match.groupdict()

    assert all(name == name.lower() for name in raw["headers"])
    query = event.query_string_parameters or {}
    assert event.raw_query_string == "&".join(f"{k}={v}" for k, v in query.items())

    authorization = event.headers.get("authorization")
    if route.auth == "api_key":
        assert authorization and API_KEY_HEADER.match(authorization)
    else:
        assert authorization is None

    if raw.get("body") is not None:
        assert not event.is_base64_encoded
        body = event.decoded_body
        assert int(event.headers["content-length"]) == len(body.encode("utf-8"))
        assert event.headers["content-type"].startswith("application/json")
        assert isinstance(json.loads(body), dict)


def test_api_key_sample_body_fits_the_contract() -> None:
    body = json.loads(APIGatewayProxyEventV2(load(EVENTS / "apigw/post_v1_api_keys.json")).body)
    assert set(body) <= {"name", "scopes", "tenant_id"}
    assert body["name"] and body["scopes"] and body["tenant_id"] == CUSTOMER


def test_webhook_sample_carries_the_raw_stripe_event() -> None:
    event = APIGatewayProxyEventV2(load(EVENTS / "apigw/post_webhooks_stripe.json"))
    assert event.decoded_body == stripe_text("customer.subscription.created")
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", event.headers["stripe-signature"])


def test_webhook_sample_keeps_its_placeholder_signature() -> None:
    event = APIGatewayProxyEventV2(load(EVENTS / "apigw/post_webhooks_stripe.json"))
    header = event.headers["stripe-signature"]
    message = "the webhook sample was re-signed: `git checkout events/apigw` before committing"
    try:
        stripe.WebhookSignature.verify_header(event.decoded_body, header, PLACEHOLDER_SECRET)
    except stripe.SignatureVerificationError:
        pytest.fail(message)
    with pytest.raises(stripe.SignatureVerificationError):  # stale: the ingest answers 400
        stripe.Webhook.construct_event(
            event.decoded_body, header, PLACEHOLDER_SECRET, tolerance=300
        )


def test_sign_webhook_makes_a_signature_stripe_accepts() -> None:
    sign_webhook = _sign_webhook_module()
    raw = load(EVENTS / "apigw/post_webhooks_stripe.json")
    secret = "whsec_unit_test_secret"
    now = int(time.time())
    signed = sign_webhook.resigned(raw, secret, now)
    assert signed["body"] == raw["body"]
    assert signed["requestContext"]["timeEpoch"] == now * 1000
    event = stripe.Webhook.construct_event(
        signed["body"], signed["headers"]["stripe-signature"], secret, tolerance=300
    )
    assert event.id == json.loads(raw["body"])["id"]


# --- Stripe events (2025-03-31.basil) -------------------------------------------------------


def test_stripe_samples_tell_one_story_in_order() -> None:
    assert {p.stem for p in STRIPE_FILES} == set(STORY)
    created = [stripe_sample(name)["created"] for name in STORY]
    assert created == sorted(created)
    ids = [stripe_sample(name)["id"] for name in STORY]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", STRIPE_FILES, ids=lambda p: p.stem)
def test_stripe_sample_parses_as_a_basil_event(path: Path) -> None:
    raw = load(path)
    event = stripe.Event.construct_from(raw, "sk_test")
    assert event.object == "event"
    assert event.id.startswith("evt_")
    assert event.type == path.stem
    assert event.api_version == API_VERSION
    assert event.livemode is False
    assert isinstance(event.created, int)
    assert event.pending_webhooks == 1
    assert set(raw["request"]) == {"id", "idempotency_key"}
    obj = raw["data"]["object"]
    owner = obj["id"] if obj["object"] == "customer" else obj["customer"]
    assert owner == CUSTOMER
    assert "coupon" not in set(walk_keys(raw)), "basil: discounts, not coupon"


def subscription_samples() -> list[dict[str, Any]]:
    return [
        stripe_sample(name)["data"]["object"] for name in STORY if name.startswith("customer.sub")
    ]


def invoice_samples() -> list[dict[str, Any]]:
    return [stripe_sample(name)["data"]["object"] for name in STORY if name.startswith("invoice.")]


def test_subscription_periods_live_on_items() -> None:
    subscriptions = subscription_samples()
    assert len({sub["id"] for sub in subscriptions}) == 1
    for sub in subscriptions:
        assert "current_period_start" not in sub and "current_period_end" not in sub
        assert "discount" not in sub and isinstance(sub["discounts"], list)
        assert sub["items"]["data"]
        for item in sub["items"]["data"]:
            assert item["subscription"] == sub["id"]
            assert item["current_period_start"] < item["current_period_end"]
            price = item["price"]
            assert price["unit_amount"] == 2000 and price["currency"] == "usd"
            assert price["recurring"]["interval"] == "month"
            assert price["recurring"]["interval_count"] == 1
            assert price["recurring"]["usage_type"] == "licensed"


def test_subscription_update_goes_from_one_seat_to_three() -> None:
    data = stripe_sample("customer.subscription.updated")["data"]
    assert [i["quantity"] for i in data["previous_attributes"]["items"]["data"]] == [1]
    assert [i["quantity"] for i in data["object"]["items"]["data"]] == [3]
    created = stripe_sample("customer.subscription.created")["data"]["object"]
    assert [i["quantity"] for i in created["items"]["data"]] == [1]


def test_subscription_deleted_has_ended() -> None:
    event = stripe_sample("customer.subscription.deleted")
    sub = event["data"]["object"]
    assert sub["status"] == "canceled"
    assert sub["ended_at"] and sub["canceled_at"]
    assert sub["canceled_at"] <= sub["ended_at"] <= event["created"]


def test_invoices_link_their_subscription_through_parent() -> None:
    (subscription_id,) = {sub["id"] for sub in subscription_samples()}
    for invoice in invoice_samples():
        assert "subscription" not in invoice, "basil: parent.subscription_details.subscription"
        assert invoice["parent"]["type"] == "subscription_details"
        assert invoice["parent"]["subscription_details"]["subscription"] == subscription_id
        assert invoice["customer"] == CUSTOMER
        lines = invoice["lines"]["data"]
        assert invoice["amount_due"] == sum(line["amount"] for line in lines)
        assert invoice["amount_due"] == invoice["amount_paid"] + invoice["amount_remaining"]
        for line in lines:
            details = line["parent"]["subscription_item_details"]
            assert details["subscription"] == subscription_id
            assert line["pricing"]["type"] == "price_details"


def test_payment_failed_invoice_is_a_dunning_case() -> None:
    event = stripe_sample("invoice.payment_failed")
    invoice = event["data"]["object"]
    assert invoice["billing_reason"] == "subscription_cycle"
    assert invoice["status"] == "open"
    assert invoice["attempt_count"] >= 1
    assert invoice["next_payment_attempt"] > event["created"]
    assert invoice["hosted_invoice_url"].startswith("https://invoice.stripe.com/")
    assert invoice["amount_remaining"] == invoice["amount_due"] == 6000
    paid = stripe_sample("invoice.paid")["data"]["object"]
    assert paid["status"] == "paid" and paid["amount_paid"] == 2000


# --- SQS (the billing events FIFO queue) ----------------------------------------------------


def test_sqs_sample_is_a_fifo_batch_of_raw_stripe_events() -> None:
    raw = load(EVENTS / "sqs/billing_events_batch.json")
    event = SQSEvent(raw)
    records = list(event.records)
    assert len(records) == len(SQS_BATCH)
    sequence = []
    for record, name in zip(records, SQS_BATCH, strict=True):
        assert record.body == stripe_text(name)
        assert record.md5_of_body == hashlib.md5(record.body.encode("utf-8")).hexdigest()
        assert record.event_source == "aws:sqs"
        assert record.event_source_arn.endswith(":cognitionos-billing-events.fifo")
        assert record.aws_region == record.event_source_arn.split(":")[3]
        assert record.message_attributes == {}
        attributes = record.attributes
        assert attributes.message_group_id == CUSTOMER
        assert attributes.message_deduplication_id == json.loads(record.body)["id"]
        assert attributes.approximate_receive_count == "1"
        assert int(attributes.approximate_first_receive_timestamp) >= int(attributes.sent_timestamp)
        assert attributes.sender_id
        sequence.append(int(attributes.sequence_number or 0))
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)


def test_claim_check_sample_stands_for_the_invoice_paid_sample() -> None:
    from billing.logic.claim_checks import body_key
    from billing.logic.queued_messages import parse_message
    from billing.models.events import ClaimCheck

    (record,) = SQSEvent(load(EVENTS / "sqs/billing_events_claim_check.json")).records
    claim = parse_message(record.body)
    assert isinstance(claim, ClaimCheck)
    body = stripe_text("invoice.paid").encode("utf-8")
    assert claim.event_id == json.loads(body)["id"] == record.attributes.message_deduplication_id
    assert (claim.key, claim.bytes) == (body_key(claim.event_id), len(body))
    assert claim.sha256 == hashlib.sha256(body).hexdigest()
    assert record.md5_of_body == hashlib.md5(record.body.encode("utf-8")).hexdigest()
    assert record.attributes.message_group_id == CUSTOMER
    assert record.event_source_arn.endswith(":cognitionos-billing-events.fifo")


def test_usage_sample_is_a_standard_queue_batch_of_usage_ids() -> None:
    from billing.models.usage import UsageReportMessage

    records = list(SQSEvent(load(EVENTS / "sqs/usage_reports_batch.json")).records)
    assert records
    for record in records:
        assert record.event_source_arn.endswith(":cognitionos-usage-reports")
        assert record.md5_of_body == hashlib.md5(record.body.encode("utf-8")).hexdigest()
        assert record.attributes.message_group_id is None
        UsageReportMessage.model_validate_json(record.body)


def test_alarm_sample_is_one_stack_alarm_going_off_then_back_to_ok_delivered_raw() -> None:
    from alerts.logic.alarms import alarm_reading
    from alerts.models.alarms import parse_alarm_notification

    records = list(SQSEvent(load(EVENTS / "sqs/alarm_notifications_batch.json")).records)
    readings = []
    for record in records:
        assert record.event_source_arn.endswith(f":cognitionos-{topology.ALARM_NOTIFICATIONS.name}")
        assert record.md5_of_body == hashlib.md5(record.body.encode("utf-8")).hexdigest()
        readings.append(alarm_reading(parse_alarm_notification(record.body)))
    assert [(r.label, r.value) for r in readings if r] == [
        ("CognitionOS-BillingEventsDlqDepth", 1),
        ("CognitionOS-BillingEventsDlqDepth", 0),
    ]


# --- EventBridge Scheduler --------------------------------------------------------------------


SCHEDULE_FILES = sorted((EVENTS / "schedule").glob("*.json"))


def test_every_job_has_a_schedule_sample() -> None:
    named = {job_name(load(path)) for path in SCHEDULE_FILES}
    assert named == set(topology.jobs())


@pytest.mark.parametrize("path", SCHEDULE_FILES, ids=lambda p: p.stem)
def test_schedule_sample_is_the_kernel_schedule_event(path: Path) -> None:
    sample = load(path)
    job = job_name(sample)
    assert job in topology.jobs()
    assert path.stem.removesuffix("_on_demand") == job.replace("-", "_")
    on_demand = path.stem.endswith("_on_demand")
    assert is_on_demand(sample) is on_demand
    fresh = schedule_event(job, on_demand=on_demand)
    assert set(sample) == set(fresh)
    assert sample["detail"] == fresh["detail"]
    rebuilt = schedule_event(
        job,
        account=sample["account"],
        region=sample["region"],
        execution_id=sample["id"],
        scheduled_time=sample["time"],
        on_demand=on_demand,
    )
    assert sample == rebuilt
