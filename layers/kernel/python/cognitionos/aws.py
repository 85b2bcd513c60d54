"""AWS clients, created once per execution environment.

Endpoints come from the environment (``AWS_ENDPOINT_URL``), which is how the local runner
and tests point the unchanged handlers at moto.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Short timeouts with standard retries: a Lambda should fail fast and let its trigger retry.
_CONFIG = Config(
    connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
)


@functools.cache
def client(service: str, read_timeout_s: int | None = None, retry: bool = True) -> Any:
    """A boto3 client for ``service``, shared by every caller in this environment.

    ``read_timeout_s`` raises the 10 s default for calls that wait on purpose (a job run);
    ``retry=False`` is for calls that must not run twice when a response is merely slow.
    """
    config = _CONFIG
    if read_timeout_s:
        config = config.merge(Config(read_timeout=read_timeout_s))
    if not retry:
        config = config.merge(Config(retries={"total_max_attempts": 1}))
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


@functools.cache
def dynamodb_table(name: str) -> Table:
    """A DynamoDB Table resource; resources are not thread-safe across sessions, so cache one."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)


def reset_clients() -> None:
    """Forget cached clients (tests that start a new moto backend call this)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
