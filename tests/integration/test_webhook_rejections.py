"""webhook.rejected: refused Stripe deliveries are audited in the operators' chain, at most
once per reason a minute per execution environment, with counts that add up."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.factories import sign, stripe_event
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext
from tests.integration.test_stripe_webhook import post_webhook

OPERATORS = "operators"
BODY = json.dumps(stripe_event("invoice.paid", {"id": "in_r", "object": "invoice"}))


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The refusal windows' clock, as the test moves it (one execution environment)."""
    import billing.handlers.ingest_webhook as ingest
    from billing.dal.rejections import RejectionAudit
    from cognitionos.audit.store import audit_log

    test_clock = Clock(1_800_000_000.0)
    environment: list[RejectionAudit] = []

    def rejection_audit() -> RejectionAudit:
        if not environment:
            environment.append(RejectionAudit(audit_log(), clock=test_clock))
        return environment[0]

    monkeypatch.setattr(ingest, "rejection_audit", rejection_audit)
    return test_clock


def rejected_entries(aws: Aws) -> list[dict[str, Any]]:
    items = aws.table("audit").query(
        KeyConditionExpression="pk = :c", ExpressionAttributeValues={":c": OPERATORS}
    )["Items"]
    return [i for i in items if i["action"] == "webhook.rejected"]


BAD_DELIVERIES = {
    "signature_mismatch": lambda: sign(BODY, "whsec_not_ours"),
    "missing_signature": lambda: None,
    "stale_timestamp": lambda: sign(BODY, WEBHOOK_SECRET, timestamp=1_000_000_000),
    "malformed_signature": lambda: "nonsense",
}


def test_a_flood_of_1000_bad_deliveries_writes_a_bounded_number_of_entries_that_add_up(
    aws: Aws, context: LambdaContext, clock: Clock
) -> None:
    reasons = list(BAD_DELIVERIES)
    sent: Counter[str] = Counter()
    for n in range(1000):  # three minutes of refusals, the four reasons in turn
        clock.now += 0.18
        reason = reasons[n % len(reasons)]
        response = post_webhook(BODY, BAD_DELIVERIES[reason](), context)
        assert response["statusCode"] == 400
        sent[reason] += 1
    flood = rejected_entries(aws)
    # One entry per reason at the first refusal, then one a minute: 4 reasons x 4 windows.
    assert len(flood) <= 4 * 4
    by_reason = Counter(e["details"]["reason"] for e in flood)
    assert set(by_reason) == set(reasons) and max(by_reason.values()) <= 4

    clock.now += 61  # the next refusal of each reason carries what was suppressed
    for reason in reasons:
        post_webhook(BODY, BAD_DELIVERIES[reason](), context)
        sent[reason] += 1
    entries = rejected_entries(aws)
    counted: Counter[str] = Counter()
    for entry in entries:
        counted[entry["details"]["reason"]] += int(entry["details"]["count"])
    assert counted == sent and sum(counted.values()) == 1004
    assert {e["actor"] for e in entries} == {"anonymous"}
    assert {e["resource"] for e in entries} == {"webhook:stripe"}
    assert "whsec" not in json.dumps([e["details"] for e in entries], default=str)


def test_a_suppressed_refusal_costs_no_aws_call_and_a_recorded_one_one_transaction(
    aws: Aws, context: LambdaContext, clock: Clock
) -> None:
    from tests.aws_calls import count_aws_calls

    post_webhook(BODY, sign(BODY, WEBHOOK_SECRET), context)  # fetches and caches the secret
    with count_aws_calls() as first:
        assert post_webhook(BODY, None, context)["statusCode"] == 400
    clock.now += 30
    with count_aws_calls() as suppressed:
        assert post_webhook(BODY, None, context)["statusCode"] == 400
    clock.now += 31
    with count_aws_calls() as next_window:
        assert post_webhook(BODY, None, context)["statusCode"] == 400

    # The chain's head is read once per environment; after that an entry is one transaction.
    assert first == {"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1}
    assert suppressed == {}
    assert next_window == {"dynamodb.TransactWriteItems": 1}
    assert [e["details"]["count"] for e in rejected_entries(aws)] == [1, 2]


def test_an_entry_that_loses_the_race_is_not_retried_and_its_count_is_carried(
    aws: Aws, context: LambdaContext, clock: Clock
) -> None:
    from cognitionos.audit.store import AuditLog
    from cognitionos.aws import dynamodb_table
    from tests.aws_calls import count_aws_calls

    assert post_webhook(BODY, None, context)["statusCode"] == 400  # this writer knows the head
    other = AuditLog(
        dynamodb_table(aws.env["AUDIT_TABLE"]), dynamodb_table(aws.env["AUDIT_HEADS_TABLE"])
    )  # another execution environment extends the chain
    other.record("admin.job.run", actor="k", resource="job:dunning")
    clock.now += 61
    with count_aws_calls() as lost:
        assert post_webhook(BODY, None, context)["statusCode"] == 400
    clock.now += 61
    post_webhook(BODY, None, context)

    assert lost == {"dynamodb.TransactWriteItems": 1}  # one try, no wait for another
    assert [e["details"]["count"] for e in rejected_entries(aws)] == [1, 2]


def test_refusals_chain_with_the_operators_other_entries_and_verify(
    aws: Aws, context: LambdaContext, clock: Clock
) -> None:
    from tests.integration.test_audit_log import audit, new_key

    operator_key = new_key(aws, context, ["audit:read"])
    post_webhook("not json", sign("not json", WEBHOOK_SECRET), context)
    post_webhook(b"\xff\xfe", sign(b"\xff\xfe", WEBHOOK_SECRET), context)  # not UTF-8
    clock.now += 61
    post_webhook("[1]", sign("[1]", WEBHOOK_SECRET), context)

    status, page = audit(context, "/v1/audit/events", operator_key, {"action": "webhook.rejected"})
    assert status == 200
    assert [(e["details"]["reason"], e["details"]["count"]) for e in page["events"]] == [
        ("not_an_event", 2),
        ("not_an_event", 1),
    ]
    status, verified = audit(context, "/v1/audit/verify", operator_key)
    assert (status, verified["valid"], verified["checked"]) == (200, True, 3)
