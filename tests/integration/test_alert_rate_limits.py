"""The two token-bucket rate limiters pass the same cases: Redis against a real redis-server
the test starts on a free port, DynamoDB under moto."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.factories import pk_sk_table


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed: the Redis limiter needs a real server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["redis", "dynamodb"])
def limiter(request: pytest.FixtureRequest) -> Any:
    from alerts.dal.rate_limits import DynamoDbRateLimiter, RedisRateLimiter, redis_client

    if request.param == "redis":
        client = redis_client(request.getfixturevalue("redis_url"))
        client.flushdb()
        return RedisRateLimiter(client)
    request.getfixturevalue("moto")
    return DynamoDbRateLimiter(pk_sk_table(boto3.resource("dynamodb"), "alerts"))


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A bare moto backend: the limiter needs one table, not the whole topology."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_a_full_bucket_lets_capacity_through_then_refuses(limiter: Any) -> None:
    now = 1_700_000_000.0
    taken = [limiter.try_take("ch_a", 10, now) for _ in range(12)]
    assert taken == [True] * 10 + [False] * 2


def test_the_bucket_refills_at_capacity_per_minute(limiter: Any) -> None:
    now = 1_700_000_000.0
    for _ in range(10):
        assert limiter.try_take("ch_b", 10, now)
    assert not limiter.try_take("ch_b", 10, now + 5.9)  # 0.98 of a token
    assert limiter.try_take("ch_b", 10, now + 6.0)
    assert not limiter.try_take("ch_b", 10, now + 6.0)
    later = [limiter.try_take("ch_b", 10, now + 600) for _ in range(11)]
    assert later.count(True) == 10  # refilled to capacity, never beyond


def test_channels_have_buckets_of_their_own(limiter: Any) -> None:
    now = 1_700_000_000.0
    assert [limiter.try_take("ch_c", 1, now) for _ in range(2)] == [True, False]
    assert limiter.try_take("ch_d", 1, now)


def test_a_clock_that_goes_back_refills_nothing(limiter: Any) -> None:
    now = 1_700_000_000.0
    assert limiter.try_take("ch_e", 1, now)
    assert not limiter.try_take("ch_e", 1, now - 120)
