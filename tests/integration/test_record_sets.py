"""A customer's MRR change records are one item, written in the same transaction as the
event that changes them: however many records a late event reshapes, a commit that fails
leaves every record and its place in the MRR change feed as they were."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.factories import stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import ingest, process, status_of

VERSIONS = 110  # more changes than one DynamoDB transaction has items (100)


def history() -> list[dict[str, Any]]:
    """A subscription whose seat count moves every hour: one MRR change each time."""
    return [
        stripe_event(
            "customer.subscription.updated",
            subscription(sub_id="sub_long", customer="cus_long", quantity=1 + n % 2),
            created=10_000 + 3600 * n,
        )
        for n in range(VERSIONS)
    ]


def late_discount() -> dict[str, Any]:
    """Half off from before the first change: every record's amounts change."""
    coupon = {"id": "co_half", "object": "coupon", "percent_off": 50, "duration": "forever"}
    discount = {
        "id": "di_long",
        "object": "discount",
        "customer": "cus_long",
        "subscription": None,
        "start": 9_000,
        "end": None,
        "coupon": coupon,
    }
    return stripe_event("customer.discount.created", discount, created=9_000)


def seed(aws: Aws) -> None:
    """The history as the processor leaves it, written in a few transactions rather than
    one event at a time (moto copies the table on every transaction item)."""
    from billing.dal.billing_state import BillingState
    from billing.logic.envelope import envelope_from
    from billing.logic.process import CommitPlan
    from billing.logic.state import state_change

    state = BillingState(aws.table("billing"))
    changes = [state_change(envelope_from(e)) for e in history()]
    for start in range(0, len(changes), 50):
        chunk = [c for c in changes[start : start + 50] if c is not None]
        assert state.commit(CommitPlan(None, customer_id="cus_long", versions=chunk)) == "committed"
    derived = state.history("cus_long").derive({})
    newest = changes[-1]
    assert newest is not None
    plan = CommitPlan(
        None,
        customer_id="cus_long",
        state=newest.as_stored(),
        records=derived.records,
        records_changed=True,
    )
    assert state.commit(plan) == "committed"
    assert len(derived.records) == VERSIONS


def record_items(aws: Aws) -> list[dict[str, Any]]:
    items = aws.table("billing").query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "HISTORY#cus_long"}
    )["Items"]
    return sorted((i for i in items if str(i["sk"]).startswith("MRR")), key=lambda i: i["sk"])


def test_a_late_event_rewriting_more_records_than_a_transaction_holds_commits_them_whole(
    aws: Aws, context: LambdaContext
) -> None:
    seed(aws)
    discount = late_discount()

    process(aws, context, ingest(aws, context, discount))

    [record_set] = record_items(aws)
    amounts = [(int(r["mrr_from"]), int(r["mrr_to"])) for r in record_set["records"]]
    assert amounts[:3] == [(0, 1000), (1000, 2000), (2000, 1000)]  # halved from the start
    assert len(amounts) == VERSIONS
    assert status_of(aws, discount["id"]) == "processed"


def test_a_commit_that_fails_leaves_every_record_and_its_feed_position_as_it_was(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(aws)
    before = json.dumps(record_items(aws), default=str, sort_keys=True)
    bodies = ingest(aws, context, late_discount())

    real_call = BaseClient._make_api_call

    def crash_on_commit(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "the commit crashed"}},
                operation,
            )
        return real_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", crash_on_commit)
    with pytest.raises(Exception, match="All records failed"):
        process(aws, context, bodies)
    monkeypatch.setattr(BaseClient, "_make_api_call", real_call)

    assert json.dumps(record_items(aws), default=str, sort_keys=True) == before
