"""Handlers in process under moto: resources from the topology, env as the stack sets it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import topology
from tests.integration.iam_guard import iam_guard, iam_observations  # noqa: F401 (autouse)

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
    import alerts.handlers.dispatch
    import alerts.handlers.wiring
    import alerts.settings
    import operators.handlers.wiring
    import operators.settings
    from aws_lambda_powertools.utilities import parameters

    import agents.dal.llm
    import agents.handlers.step
    import agents.llm_settings
    import agents.settings
    import billing.dal.rejections
    import billing.settings
    import code_validation.settings
    import cognitionos.audit.store
    import cognitionos.crypto
    import cognitionos.http
    import cognitionos.metrics_store
    import cognitionos.usage
    import platform_api.settings
    from billing.dal.coupons import forget_missing_coupons
    from cognitionos.aws import reset_clients

    reset_clients()
    forget_missing_coupons()
    billing.dal.rejections.rejection_audit.cache_clear()
    parameters.clear_caches()
    cognitionos.http.forget_previous_pepper()
    cognitionos.http._auth_settings.cache_clear()
    cognitionos.crypto.reset_caches()
    cognitionos.audit.store.reset_caches()
    cognitionos.usage.usage_settings.cache_clear()
    agents.handlers.step.step_runner.cache_clear()
    agents.dal.llm.provider_from_env.cache_clear()
    cognitionos.metrics_store.metrics_settings.cache_clear()
    cognitionos.http.session_store.cache_clear()
    for module in (
        billing.settings,
        platform_api.settings,
        agents.settings,
        agents.llm_settings,
        alerts.settings,
        alerts.handlers.wiring,
        code_validation.settings,
        alerts.handlers.dispatch,
        operators.settings,
        operators.handlers.wiring,
    ):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def _provision() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The local runner's own provisioning, inside ``mock_aws`` (no endpoint: moto intercepts)."""
    from infra.local.config import LocalConfig
    from infra.local.provision import Aws as LocalAws
    from infra.local.provision import provision

    made = provision(
        LocalAws(None, REGION), topology, LocalConfig(prefix="test", webhook_secret=WEBHOOK_SECRET)
    )  # type: ignore[arg-type]
    env = {t.env_var: made.tables[t.name] for t in topology.TABLES}
    env |= {q.env_var: made.queue_urls[q.name] for q in topology.QUEUES}
    env |= {s.env_var: made.secret_arns[s.name] for s in topology.SECRETS}
    env |= {k.env_var: made.keys[k.name] for k in topology.KEYS}
    env |= {b.env_var: made.buckets[b.name] for b in topology.BUCKETS}
    env |= {t.env_var: made.email_templates[t.name] for t in topology.EMAIL_TEMPLATES}
    env[topology.EMAIL_SENDER_ENV] = made.email_sender
    env[topology.CODE_VALIDATE_ENV] = f"test-{topology.CODE_VALIDATE}"
    env |= {topology.DeadLetterQueue(q).env_var: made.dlq_urls[q.name] for q in topology.QUEUES}
    urls = made.queue_urls | {
        topology.Queue(name).dlq_name: url for name, url in made.dlq_urls.items()
    }
    return env, urls, made.queue_arns


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


STRIPE_TEST_KEY = "rk_test_integration"


@pytest.fixture
def stripe_api(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fake Stripe API on loopback, ``STRIPE_TEST_KEY`` in the stripe-api-key secret and
    ``STRIPE_API_BASE`` pointing at the fake, as a deployment with a key configured has."""
    from tests.fakes.stripe_api import fake_stripe

    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.env["STRIPE_API_KEY_SECRET_ID"], SecretString=STRIPE_TEST_KEY
    )
    with fake_stripe() as fake:
        monkeypatch.setenv("STRIPE_API_BASE", fake.url)
        reset_runtime_caches()
        yield fake
