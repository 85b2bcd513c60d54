"""The billing read routes end to end: webhooks in, customer, subscription and dunning out."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.test_billing_webhooks import wait_processed
from tests.factories import customer, invoice, stripe_event, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def failed_invoice(invoice_id: str, customer_id: str, sub_id: str, created: int) -> dict[str, Any]:
    inv = invoice(invoice_id=invoice_id, customer=customer_id, status="open", sub_id=sub_id)
    inv |= {
        "attempt_count": 1,
        "next_payment_attempt": created + 3 * 86400,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
        "billing_reason": "subscription_cycle",
    }
    return inv


def test_a_customer_with_a_failed_payment_reads_back_with_its_open_dunning_case(
    runner: Any,
) -> None:
    now = int(time.time())
    sub = subscription(sub_id="sub_e2e_read", customer="cus_e2e_read", quantity=2)
    past_due = {**sub, "status": "past_due"}
    events = [
        stripe_event(
            "customer.created", {**customer("cus_e2e_read"), "currency": "usd"}, now - 300
        ),
        stripe_event("customer.subscription.created", sub, now - 200),
        stripe_event(
            "invoice.payment_failed",
            failed_invoice("in_e2e_read", "cus_e2e_read", "sub_e2e_read", now - 100),
            now - 100,
        ),
        stripe_event("customer.subscription.updated", past_due, now - 99),
    ]
    for event in reversed(events):  # newest first: the state must not care
        assert runner.post_stripe(event).status_code == 200
    wait_processed(runner, {e["id"] for e in events})

    cust = runner.get("/v1/billing/customers/cus_e2e_read").json()
    sub_view = runner.get("/v1/billing/subscriptions/sub_e2e_read").json()
    cases = runner.get("/v1/billing/dunning", params={"status": "open"}).json()["cases"]

    assert (cust["email"], cust["name"], cust["mrr"]) == (
        "jenny.rosen@example.com",
        "Jenny Rosen",
        4000,
    )
    assert [s["id"] for s in cust["subscriptions"]] == ["sub_e2e_read"]
    assert cust["dunning"]["invoice_id"] == "in_e2e_read"
    assert (sub_view["status"], sub_view["mrr"], sub_view["items"][0]["quantity"]) == (
        "past_due",
        4000,
        2,
    )
    [case] = [c for c in cases if c["invoice_id"] == "in_e2e_read"]
    assert (case["status"], case["attempt_count"], case["customer"]) == ("open", 1, "cus_e2e_read")


def test_unknown_customer_and_subscription_are_404(runner: Any) -> None:
    assert runner.get("/v1/billing/customers/cus_e2e_nobody").status_code == 404
    assert runner.get("/v1/billing/subscriptions/sub_e2e_nobody").status_code == 404
    assert runner.get("/v1/billing/dunning", params={"status": "sideways"}).status_code == 422


def test_the_dunning_job_runs_on_demand_and_reports_its_counts(runner: Any) -> None:
    ran = runner.post("/v1/admin/jobs/dunning")
    assert ran.status_code == 200
    body = ran.json()
    assert body["job"] == "dunning"
    assert set(body["summary"]) >= {"open_cases", "reminders", "final_notices", "emails_sent"}
