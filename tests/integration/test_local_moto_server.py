"""The local runner's moto server: a failed transaction leaves every item as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local.moto_server import MotoServer
from tests.factories import pk_sk_table


@pytest.fixture(scope="module")
def table() -> Iterator[Any]:
    server = MotoServer()
    url = server.start()
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    made = pk_sk_table(dynamodb, "t")
    with made.batch_writer() as batch:  # a table of some size, as after a while of use
        for n in range(500):
            batch.put_item(Item={"pk": f"filler#{n}", "sk": "x", "v": n})
    yield made
    server.stop()


def test_a_failed_transaction_leaves_every_item_as_it_was(table: Any) -> None:
    table.put_item(Item={"pk": "a", "sk": "x", "v": 1})
    client = table.meta.client
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": "a", "sk": "x"},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": 2},
                    }
                },
                {"Put": {"TableName": "t", "Item": {"pk": "b", "sk": "x"}}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": "c", "sk": "x"},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert table.get_item(Key={"pk": "a", "sk": "x"})["Item"]["v"] == 1
    assert "Item" not in table.get_item(Key={"pk": "b", "sk": "x"})
    assert "Item" not in table.get_item(Key={"pk": "c", "sk": "x"})
    assert table.get_item(Key={"pk": "filler#7", "sk": "x"})["Item"]["v"] == 7


def test_a_transaction_that_succeeds_writes_every_item(table: Any) -> None:
    client = table.meta.client
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": "d", "sk": "x", "v": 4}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": "filler#8", "sk": "x"},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": 80},
                }
            },
        ]
    )
    assert table.get_item(Key={"pk": "d", "sk": "x"})["Item"]["v"] == 4
    assert table.get_item(Key={"pk": "filler#8", "sk": "x"})["Item"]["v"] == 80
