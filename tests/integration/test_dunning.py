"""Dunning under moto: cases in the billing table, mail through SES, the job and the route."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from billing.logic.dunning_service import Dunning
from cognitionos.jobs import schedule_event
from tests.factories import customer, invoice
from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import REGION, Aws, LambdaContext
from tests.integration.test_billing_api import get, key_for

ACCOUNT = "123456789012"
EMAIL = "jenny.rosen@example.com"
URL = "https://invoice.stripe.com/i/acct_1/test_abc"
HOUR = 3600


@pytest.fixture
def stripe_api(stripe_api: FakeStripe) -> FakeStripe:
    stripe_api.customers = {"cus_1": customer("cus_1"), "cus_2": customer("cus_2", email=None)}
    return stripe_api


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything the functions log: Powertools' JSON lines and any other logger at INFO."""
    from cognitionos.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    caplog.set_level(logging.INFO)
    try:
        yield stream
    finally:
        handler.setStream(previous)
        stream.write(caplog.text)


def service(aws: Aws) -> Dunning:
    from billing.dal.dunning import dunning_service
    from billing.settings import DunningEmailSettings
    from cognitionos.settings import load_settings

    settings = load_settings(DunningEmailSettings)
    return dunning_service(aws.table("billing"), settings)


def sent_mail() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def failed(
    attempt: int = 1,
    next_attempt: int | None = None,
    invoice_id: str = "in_1",
    cus: str = "cus_1",
) -> dict[str, Any]:
    raw = invoice(invoice_id=invoice_id, customer=cus, status="open")
    return raw | {
        "attempt_count": attempt,
        "next_payment_attempt": next_attempt,
        "hosted_invoice_url": URL,
    }


def test_a_failed_payment_emails_the_customer_once_though_the_event_comes_twice(
    aws: Aws, stripe_api: FakeStripe, logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    dunning = service(aws)
    retry = int(time.time()) + 3 * 24 * HOUR
    for _ in range(2):
        dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, retry), "past_due")

    [mail] = sent_mail()
    assert mail.destinations == {"ToAddresses": [EMAIL]}
    assert mail.template == aws.env["DUNNING_PAYMENT_FAILED_EMAIL_TEMPLATE"]
    assert mail.source == aws.env["EMAIL_SENDER"]
    data = json.loads(mail.template_data)
    assert (data["invoice_url"], data["amount"], data["currency"], data["attempt"]) == (
        URL,
        "20.00",
        "USD",
        "1",
    )
    case = aws.table("billing").get_item(Key={"pk": "DUNNING#in_1", "sk": "CASE"})["Item"]
    assert case["emails"]["payment_failed#1"]["status"] == "sent"
    assert EMAIL not in json.dumps(case, default=str)
    logged = logs.getvalue() + caplog.text
    assert mail.id in logged  # the send was logged (so the logs are captured)...
    assert EMAIL not in logged  # ...without the address


def test_each_new_attempt_sends_one_more_email(aws: Aws, stripe_api: FakeStripe) -> None:
    dunning = service(aws)
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, 5000), "past_due")
    dunning.on_invoice_event("invoice.payment_failed", 5000, failed(2, 9000), "past_due")
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, 5000), "past_due")
    assert [json.loads(m.template_data)["attempt"] for m in sent_mail()] == ["1", "2"]


def test_an_email_that_ses_refused_is_sent_when_the_event_is_redelivered(
    aws: Aws, stripe_api: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_SENDER", "nobody@unverified.example")
    with pytest.raises(ClientError, match="not verified"):
        service(aws).on_invoice_event("invoice.payment_failed", 1000, failed(), "past_due")
    assert sent_mail() == []

    monkeypatch.setenv("EMAIL_SENDER", aws.env["EMAIL_SENDER"])
    service(aws).on_invoice_event("invoice.payment_failed", 1000, failed(), "past_due")
    service(aws).on_invoice_event("invoice.payment_failed", 1000, failed(), "past_due")
    assert len(sent_mail()) == 1


def test_a_customer_without_an_email_address_is_noted_on_the_case(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    service(aws).on_invoice_event(
        "invoice.payment_failed", 1000, failed(cus="cus_2", invoice_id="in_2"), "past_due"
    )
    assert sent_mail() == []
    _, body = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "open"})
    [case] = body["cases"]
    assert (case["invoice_id"], case["email_status"]) == ("in_2", "no_address")


def test_the_job_sends_an_unaddressed_notice_once_the_customers_email_is_known(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    # The payment failed before the customer's own event (any order happens)...
    dunning = service(aws)
    retry_in_ten_days = failed(cus="cus_2", invoice_id="in_2", next_attempt=1000 + 240 * HOUR)
    dunning.on_invoice_event("invoice.payment_failed", 1000, retry_in_ten_days, "past_due")
    assert dunning.run_job(1000 + HOUR).emails_sent == 0
    # ...then the address became known: the next run sends the notice, once.
    stripe_api.customers["cus_2"] = customer("cus_2")
    assert dunning.run_job(1000 + 2 * HOUR).emails_sent == 1
    assert dunning.run_job(1000 + 3 * HOUR).emails_sent == 0
    assert len(sent_mail()) == 1
    _, body = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "open"})
    assert [(e["kind"], e["status"]) for e in body["cases"][0]["emails"]] == [
        ("payment_failed", "sent")
    ]


def test_payment_closes_the_case_and_a_late_failure_neither_reopens_it_nor_emails(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    dunning = service(aws)
    dunning.on_invoice_event("invoice.paid", 2000, invoice(status="paid"), "active")
    _, before = get(context, "/v1/billing/dunning", aws.admin_key)
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(), "past_due")
    assert sent_mail() == []
    _, body = get(context, "/v1/billing/dunning", aws.admin_key)
    # Listed as in-order delivery leaves it: opened by the failure, recovered by the payment.
    assert before["cases"] == []
    assert [(c["status"], c["opened_at"], c["emails"]) for c in body["cases"]] == [
        ("recovered", "1970-01-01T00:16:40Z", [])
    ]


def test_a_subscription_going_unpaid_exhausts_its_case_as_involuntary_churn(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    dunning = service(aws)
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(4), "past_due")
    [closed] = dunning.on_subscription_status("sub_1", "unpaid", 2000)
    assert closed.invoice_id == "in_1"
    assert dunning.on_subscription_status("sub_1", "unpaid", 2000) == []
    _, body = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "exhausted"})
    [case] = body["cases"]
    assert (case["status"], case["churn"], case["closed_at"]) == (
        "exhausted",
        "involuntary",
        "1970-01-01T00:33:20Z",
    )


def run_job(context: LambdaContext) -> dict[str, Any]:
    from billing.handlers.dunning_job import lambda_handler

    return dict(lambda_handler(schedule_event("dunning"), context))


def test_the_job_reminds_before_the_retry_and_sends_a_final_notice_once(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    dunning = service(aws)
    soon = int(time.time()) + 12 * HOUR
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, soon, "in_a"), "past_due")
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(4, None, "in_b"), "past_due")
    later = int(time.time()) + 5 * 24 * HOUR
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(2, later, "in_c"), "past_due")

    first = run_job(context)
    again = run_job(context)

    assert first == {
        "open_cases": 3,
        "reminders": 1,
        "final_notices": 1,
        "emails_sent": 2,
        "no_address": 0,
    }
    assert again == {
        "open_cases": 3,
        "reminders": 0,
        "final_notices": 0,
        "emails_sent": 0,
        "no_address": 0,
    }
    templates = [m.template for m in sent_mail()[3:]]
    assert sorted(templates) == sorted(
        [
            aws.env["DUNNING_REMINDER_EMAIL_TEMPLATE"],
            aws.env["DUNNING_FINAL_NOTICE_EMAIL_TEMPLATE"],
        ]
    )


def test_the_route_filters_by_status_and_a_tenant_key_sees_only_its_cases(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    dunning = service(aws)
    dunning.on_invoice_event("invoice.payment_failed", 1000, failed(1, None, "in_1"), "past_due")
    dunning.on_invoice_event(
        "invoice.payment_failed", 1100, failed(1, None, "in_2", "cus_2"), "past_due"
    )
    dunning.on_invoice_event("invoice.paid", 1200, invoice("in_2", "cus_2"), "active")

    _, open_cases = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "open"})
    assert [c["invoice_id"] for c in open_cases["cases"]] == ["in_1"]
    assert open_cases["cases"][0]["next_attempt_at"] is None
    assert {"invoice_id", "customer", "status", "attempt_count", "next_attempt_at"} <= set(
        open_cases["cases"][0]
    )
    _, every = get(context, "/v1/billing/dunning", aws.admin_key)
    assert {c["invoice_id"]: c["status"] for c in every["cases"]} == {
        "in_1": "open",
        "in_2": "recovered",
    }

    tenant = key_for(aws, context, ["billing:read"], tenant="cus_2")
    _, own = get(context, "/v1/billing/dunning", tenant)
    assert [(c["invoice_id"], c["customer"]) for c in own["cases"]] == [("in_2", "cus_2")]
    _, own_open = get(context, "/v1/billing/dunning", tenant, {"status": "open"})
    assert own_open["cases"] == []

    status, error = get(context, "/v1/billing/dunning", aws.admin_key, {"status": "closed"})
    assert status == 422 and "status" in error["message"]
    no_scope = key_for(aws, context, ["revenue:read"])
    assert get(context, "/v1/billing/dunning", no_scope)[0] == 403


def test_the_route_pages_with_next_token(
    aws: Aws, stripe_api: FakeStripe, context: LambdaContext
) -> None:
    dunning = service(aws)
    for n in range(3):
        dunning.on_invoice_event(
            "invoice.payment_failed", 1000 + n, failed(1, None, f"in_{n}"), "past_due"
        )
    seen: list[str] = []
    token: str | None = None
    while True:
        query = {"status": "open", "limit": "2"} | ({"next_token": token} if token else {})
        _, page = get(context, "/v1/billing/dunning", aws.admin_key, query)
        seen += [c["invoice_id"] for c in page["cases"]]
        token = page["next_token"]
        if not token:
            break
    assert seen == ["in_2", "in_1", "in_0"]


@pytest.mark.parametrize(
    "var",
    [
        "DUNNING_PAYMENT_FAILED_EMAIL_TEMPLATE",
        "DUNNING_REMINDER_EMAIL_TEMPLATE",
        "DUNNING_FINAL_NOTICE_EMAIL_TEMPLATE",
    ],
)
def test_every_template_renders_the_data_dunning_sends(aws: Aws, var: str) -> None:
    from billing.logic import dunning

    case = dunning.on_payment_failed(
        None, dunning.read_invoice(failed(2, 1_746_370_800)), 1000, "past_due"
    )
    assert case is not None
    data = dunning.template_data(case, case.emails["payment_failed#2"])
    rendered = boto3.client("ses", region_name=REGION).test_render_template(
        TemplateName=aws.env[var], TemplateData=json.dumps(data)
    )["RenderedTemplate"]
    assert URL in rendered and "20.00 USD" in rendered
    assert "{{" not in rendered
