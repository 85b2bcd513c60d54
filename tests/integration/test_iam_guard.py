"""The IAM guard refuses what a function's topology entry does not declare."""

from __future__ import annotations

import pytest

from infra import topology
from tests.integration.iam_guard import check, running_function


@pytest.fixture
def physical_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_TABLE", "test-billing")
    monkeypatch.setenv("BILLING_EVENTS_QUEUE_URL", "https://sqs/billing-events.fifo")
    monkeypatch.setenv("USAGE_REPORTS_QUEUE_URL", "https://sqs/usage-reports")


@pytest.mark.usefixtures("physical_names")
def test_the_ingest_function_may_put_into_billing_and_nothing_more() -> None:
    ingest = topology.function("billing-ingest")
    table = {"TableName": "test-billing"}
    assert check(ingest, "dynamodb", "PutItem", table) == ([("dynamodb:PutItem", "billing")], [])
    for operation in ("GetItem", "UpdateItem", "DeleteItem", "Scan", "Query"):
        _, refused = check(ingest, "dynamodb", operation, table)
        assert refused == [f"dynamodb:{operation} on billing"]


@pytest.mark.usefixtures("physical_names")
def test_a_transaction_needs_the_action_of_each_of_its_items() -> None:
    process = topology.function("billing-process")
    reconcile = topology.function("billing-reconcile")
    items = {
        "TransactItems": [
            {"Put": {"TableName": "test-billing"}},
            {"Update": {"TableName": "test-billing"}},
            {"Delete": {"TableName": "test-billing"}},
            {"ConditionCheck": {"TableName": "test-billing"}},
        ]
    }
    assert check(process, "dynamodb", "TransactWriteItems", items)[1] == []
    assert check(reconcile, "dynamodb", "TransactWriteItems", items)[1] == [
        "dynamodb:DeleteItem on billing",
        "dynamodb:ConditionCheckItem on billing",
    ]


@pytest.mark.usefixtures("physical_names")
def test_an_index_is_queried_only_when_declared() -> None:
    dunning = topology.function("billing-dunning")
    gsi1 = {"TableName": "test-billing", "IndexName": "gsi1"}
    gsi3 = {"TableName": "test-billing", "IndexName": "gsi3"}
    assert check(dunning, "dynamodb", "Query", gsi1)[1] == []
    assert check(dunning, "dynamodb", "Query", gsi3)[1] == ["dynamodb:Query on billing index gsi3"]
    assert check(dunning, "dynamodb", "Scan", gsi1)[1] == ["dynamodb:Scan on billing index gsi1"]


@pytest.mark.usefixtures("physical_names")
def test_queues_and_services_not_declared_are_refused() -> None:
    ingest = topology.function("billing-ingest")
    other_queue = {"QueueUrl": "https://sqs/usage-reports"}
    assert check(ingest, "sqs", "SendMessage", other_queue)[1] == [
        "sqs:SendMessage on usage-reports"
    ]
    assert check(
        ingest, "sqs", "GetQueueAttributes", {"QueueUrl": "https://sqs/billing-events.fifo"}
    )[1]
    assert check(ingest, "sts", "GetCallerIdentity", {})[1] == ["sts:GetCallerIdentity on sts"]


def test_calls_outside_a_handler_module_are_not_attributed() -> None:
    assert running_function() is None
