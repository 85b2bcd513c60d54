"""Handlers in process under moto: resources from the topology, env as the stack sets it."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import topology

WEBHOOK_SECRET = "whsec_integration_test_secret"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Aws:
    env: dict[str, str]
    queue_urls: dict[str, str]
    queue_arns: dict[str, str]
    admin_key: str

    def table(self, name: str) -> Any:
        return boto3.resource("dynamodb", region_name=REGION).Table(self.env[_table(name).env_var])

    def receive(self, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.queue_urls[queue],
                MaxNumberOfMessages=max_messages,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return out
            out.extend(got)
            for message in got:  # consumed: FIFO holds a group back while one is in flight
                sqs.delete_message(
                    QueueUrl=self.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"]
                )


def _table(name: str) -> topology.Table:
    return next(t for t in topology.TABLES if t.name == name)


def reset_runtime_caches() -> None:
    """Forget clients, settings and cached secrets, as a new execution environment would."""
    from aws_lambda_powertools.utilities import parameters

    import billing.settings
    import cognitionos.http
    import platform_api.settings
    from cognitionos.aws import reset_clients

    reset_clients()
    parameters.clear_caches()
    cognitionos.http._auth_settings.cache_clear()
    for module in (billing.settings, platform_api.settings):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def _provision() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    env: dict[str, str] = {}
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for table in topology.TABLES:
        name = f"test-{table.name}"
        keys = [(table.partition_key, "HASH")] + (
            [(table.sort_key, "RANGE")] if table.sort_key else []
        )
        attrs = {k for k, _ in keys} | {
            a for i in table.indexes for a in (i.partition_key, i.sort_key)
        }
        spec: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys],
            "AttributeDefinitions": [
                {"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)
            ],
        }
        if table.indexes:
            spec["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": i.name,
                    "KeySchema": [
                        {"AttributeName": i.partition_key, "KeyType": "HASH"},
                        {"AttributeName": i.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for i in table.indexes
            ]
        dynamodb.create_table(**spec)
        env[table.env_var] = name
    sqs = boto3.client("sqs", region_name=REGION)
    urls, arns = {}, {}
    for queue in topology.QUEUES:
        fifo = {"FifoQueue": "true"} if queue.fifo else {}
        dlq_url = sqs.create_queue(
            QueueName=queue.physical_name("test", dlq=True), Attributes=fifo
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=queue.physical_name("test"),
            Attributes={
                **fifo,
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receives}
                ),
            },
        )["QueueUrl"]
        env[queue.env_var] = url
        urls[queue.name], urls[queue.dlq_name] = url, dlq_url
        arns[queue.name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    sm = boto3.client("secretsmanager", region_name=REGION)
    values = {
        "stripe-webhook": WEBHOOK_SECRET,
        "api-key-pepper": secrets.token_urlsafe(32),
        "stripe-api-key": "unset",
    }
    for secret in topology.SECRETS:
        arn = sm.create_secret(Name=f"test/{secret.name}", SecretString=values[secret.name])["ARN"]
        env[secret.env_var] = arn
    return env, urls, arns


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_METRICS_NAMESPACE": "CognitionOSTest",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        reset_runtime_caches()
        env, urls, arns = _provision()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        from cognitionos.auth import ApiKeyStore
        from cognitionos.http import api_key_store

        store: ApiKeyStore = api_key_store()
        admin_key = f"cos_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"
        store.create("test admin", ["admin"], None, "2025-01-01T00:00:00Z", raw_key=admin_key)
        yield Aws(env=env, queue_urls=urls, queue_arns=arns, admin_key=admin_key)
        reset_runtime_caches()


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()
