"""The local runner (``infra/local``), driven as a user drives it: a subprocess, HTTP, SQS.

Most tests share two runners on the tiny test topology in ``local_runner_fixtures/`` (one
with schedules off, one with them on); the shutdown tests run the real topology. Pure parts
(cron, route matching, response mapping) are tested directly at the end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import re
import signal
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from infra.local.apigw import RouteTable, map_response
from infra.local.scheduler import Rate, ScheduledJob, ScheduleError, Scheduler, parse
from infra.local.sqs_poller import EventSource, QueuePoller
from infra.local.workers import Invocation
from tests.integration.local_runner_fixtures.process import (
    ROOT,
    TEST_TOPOLOGY,
    RunnerProcess,
    alive,
    clean_env,
)

pytestmark = pytest.mark.xdist_group("local-runner")

ADMIN_KEY = "cos_0123456789abcdef_" + "Secret-Part_" * 4
WEBHOOK_SECRET = "whsec_local_runner_test_secret"
MAX_RECEIVES = 3  # the test topology's queues


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunnerProcess]]:
    """Both start at once, so the schedule test at the end waits for one minute boundary."""
    base = tmp_path_factory.mktemp("runners")
    env = {
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "COGNITION_ADMIN_API_KEY": ADMIN_KEY,
        "COGNITION_LOCAL_RETRY_DELAY_S": "1",
        "COGNITION_PROBE": "passed through",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
    }
    started = {
        "off": RunnerProcess(
            base / "off", clean_env(**env, COGNITION_SCHEDULES="off"), TEST_TOPOLOGY
        ),
        "on": RunnerProcess(base / "on", clean_env(**env, COGNITION_SCHEDULES="on"), TEST_TOPOLOGY),
    }
    try:
        for runner in started.values():
            runner.wait_ready()
        yield started
    finally:
        codes = {name: runner.stop() for name, runner in started.items()}
    assert codes == {"off": 0, "on": 0}, {name: r.log() for name, r in started.items()}


@pytest.fixture(scope="module")
def runner(runners: dict[str, RunnerProcess]) -> RunnerProcess:
    return runners["off"]


def raw_request(
    runner: RunnerProcess,
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request with full control over header order and repeats."""
    url = urlsplit(runner.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers or []:
        conn.putheader(name, value)
    if body or method in {"POST", "PUT", "PATCH"}:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheaders(), data


def echo_event(runner: RunnerProcess, method: str, target: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = raw_request(runner, method, target, **kwargs)
    assert status == 200, body
    return json.loads(body)["event"]  # type: ignore[no-any-return]


def wait_for(predicate: Callable[[], Any], timeout_s: float = 20, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s (last: {value!r})")
        time.sleep(interval_s)


def observations(runner: RunnerProcess, pk: str) -> list[dict[str, Any]]:
    dynamodb = runner.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": "cognitionos-observations",
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    plain = []
    for item in items:
        row = {k: next(iter(v.values())) for k, v in item.items()}
        for key in ("record", "batch", "groups"):
            if key in row:
                row[key] = json.loads(row[key])
        if "receive_count" in row:
            row["receive_count"] = int(row["receive_count"])
        plain.append(row)
    return sorted(plain, key=lambda row: row["sk"])


def queue_url(runner: RunnerProcess, name: str) -> str:
    return str(runner.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def send(runner: RunnerProcess, queue: str, *bodies: dict[str, Any], **extra: Any) -> None:
    runner.client("sqs").send_message_batch(
        QueueUrl=queue_url(runner, queue),
        Entries=[
            {"Id": str(i), "MessageBody": json.dumps(body), **extra}
            for i, body in enumerate(bodies)
        ],
    )


def drain_dlq(runner: RunnerProcess, dlq: str, test: str) -> list[dict[str, Any]]:
    """This test's messages in the DLQ (received and deleted)."""
    sqs = runner.client("sqs")
    url = queue_url(runner, dlq)
    mine: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return mine
        for message in got:
            if json.loads(message["Body"]).get("test") == test:
                mine.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def queue_depth(runner: RunnerProcess, name: str) -> int:
    attributes = runner.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(runner, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --- start-up: local.json, provisioning, the admin key --------------------------------------


def test_local_json_holds_exactly_the_contract_facts(runner: RunnerProcess) -> None:
    saved = json.loads((runner.local_dir / "local.json").read_text())
    assert set(saved) == {
        "api_url",
        "admin_api_key",
        "stripe_webhook_secret",
        "aws_endpoint_url",
        "region",
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", saved["api_url"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", saved["aws_endpoint_url"])
    assert saved["admin_api_key"] == ADMIN_KEY
    assert saved["stripe_webhook_secret"] == WEBHOOK_SECRET
    assert saved["region"] == "us-east-1"
    assert json.dumps(saved) in runner.log()  # printed too


def test_provisions_every_table_from_the_topology(runner: RunnerProcess) -> None:
    dynamodb = runner.client("dynamodb")
    table = dynamodb.describe_table(TableName="cognitionos-observations")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {
        "gsi1pk": "HASH",
        "gsi1sk": "RANGE",
    }
    assert index["Projection"]["ProjectionType"] == "ALL"
    ttl = dynamodb.describe_time_to_live(TableName="cognitionos-observations")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    keys = dynamodb.describe_table(TableName="cognitionos-api-keys")["Table"]["KeySchema"]
    assert keys == [{"AttributeName": "key_id", "KeyType": "HASH"}]


@pytest.mark.parametrize(
    ("name", "dlq", "fifo"),
    [
        ("cognitionos-work", "cognitionos-work-dlq", False),
        ("cognitionos-ordered.fifo", "cognitionos-ordered-dlq.fifo", True),
    ],
)
def test_provisions_every_queue_with_its_dlq(
    runner: RunnerProcess, name: str, dlq: str, fifo: bool
) -> None:
    sqs = runner.client("sqs")
    dlq_attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(runner, dlq), AttributeNames=["All"]
    )["Attributes"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url(runner, name), AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_attributes["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVES
    assert attributes["VisibilityTimeout"] == "30"
    assert (attributes.get("FifoQueue") == "true") is fifo
    assert (dlq_attributes.get("FifoQueue") == "true") is fifo
    if fifo:
        assert attributes["ContentBasedDeduplication"] == "false"


def test_provisions_secrets_and_stores_the_admin_key_hashed(runner: RunnerProcess) -> None:
    secrets = runner.client("secretsmanager")

    def value(name: str) -> str:
        return str(secrets.get_secret_value(SecretId=f"cognitionos/{name}")["SecretString"])

    assert value("stripe-webhook") == WEBHOOK_SECRET
    assert value("stripe-api-key") == "unset"
    pepper = value("api-key-pepper")
    assert re.fullmatch(r"[A-Za-z0-9]{48}", pepper)

    key_id, secret = ADMIN_KEY[len("cos_") :].split("_", 1)
    item = runner.client("dynamodb").get_item(
        TableName="cognitionos-api-keys", Key={"key_id": {"S": key_id}}, ConsistentRead=True
    )["Item"]
    assert item["name"] == {"S": "local admin"}
    assert item["scopes"] == {"L": [{"S": "admin"}]}
    expected = hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()
    assert item["secret_hash"] == {"S": expected}
    assert secret not in json.dumps(item)


def test_generates_secrets_and_an_admin_key_when_not_given(tmp_path: Path) -> None:
    runner = RunnerProcess(tmp_path, clean_env(COGNITION_SCHEDULES="off"), TEST_TOPOLOGY)
    try:
        info = runner.wait_ready()
        assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}", info["stripe_webhook_secret"])
        assert re.fullmatch(r"cos_[a-z0-9]{16}_[A-Za-z0-9_-]{32,128}", info["admin_api_key"])
        key_id = info["admin_api_key"].split("_")[1]
        item = runner.client("dynamodb").get_item(
            TableName="cognitionos-api-keys", Key={"key_id": {"S": key_id}}
        )
        assert item["Item"]["scopes"] == {"L": [{"S": "admin"}]}
    finally:
        assert runner.stop() == 0, runner.log()


def admin_key_hash(runner: RunnerProcess, key: str) -> tuple[str, str]:
    """The stored hash of ``key`` and the hash the runner's pepper gives its secret."""
    key_id, secret = key[len("cos_") :].split("_", 1)
    pepper = runner.client("secretsmanager").get_secret_value(SecretId="cognitionos/api-key-pepper")
    item = runner.client("dynamodb").get_item(
        TableName="cognitionos-api-keys", Key={"key_id": {"S": key_id}}, ConsistentRead=True
    )["Item"]
    expected = hmac.new(pepper["SecretString"].encode(), secret.encode(), hashlib.sha256)
    return item["secret_hash"]["S"], expected.hexdigest()


def test_a_restart_keeps_the_admin_key_and_webhook_secret_but_no_data(tmp_path: Path) -> None:
    kept = tmp_path / "local" / "credentials.json"
    local_json = tmp_path / "local" / "local.json"
    marker = {"pk": {"S": "restart"}, "sk": {"S": "written by the first run"}}

    first = RunnerProcess(tmp_path, clean_env(COGNITION_SCHEDULES="off"), TEST_TOPOLOGY)
    try:
        made = first.wait_ready()
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE(local_json.stat().st_mode) == 0o600  # it holds the key too
        assert json.loads(kept.read_text()) == {
            "admin_api_key": made["admin_api_key"],
            "stripe_webhook_secret": made["stripe_webhook_secret"],
        }
        first.client("dynamodb").put_item(TableName="cognitionos-observations", Item=marker)
    finally:
        assert first.stop() == 0, first.log()
    assert not local_json.exists()

    overridden = RunnerProcess(
        tmp_path,
        clean_env(
            COGNITION_SCHEDULES="off",
            COGNITION_ADMIN_API_KEY=ADMIN_KEY,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ),
        TEST_TOPOLOGY,
    )
    try:
        info = overridden.wait_ready()
        assert (info["admin_api_key"], info["stripe_webhook_secret"]) == (ADMIN_KEY, WEBHOOK_SECRET)
    finally:
        assert overridden.stop() == 0, overridden.log()
    assert json.loads(kept.read_text())["admin_api_key"] == made["admin_api_key"]  # untouched

    again = RunnerProcess(tmp_path, clean_env(COGNITION_SCHEDULES="off"), TEST_TOPOLOGY)
    try:
        info = again.wait_ready()
        assert info["admin_api_key"] == made["admin_api_key"]
        assert info["stripe_webhook_secret"] == made["stripe_webhook_secret"]
        stored, expected = admin_key_hash(again, info["admin_api_key"])
        assert stored == expected  # the kept key authenticates against the new store
        webhook = again.client("secretsmanager").get_secret_value(
            SecretId="cognitionos/stripe-webhook"
        )
        assert webhook["SecretString"] == made["stripe_webhook_secret"]
        got = again.client("dynamodb").get_item(
            TableName="cognitionos-observations",
            Key=marker,
            ConsistentRead=True,
        )
        assert "Item" not in got  # the tables start empty, as the banner says
    finally:
        assert again.stop() == 0, again.log()


def test_unusable_kept_credentials_stop_the_runner_naming_the_file(tmp_path: Path) -> None:
    kept = tmp_path / "local" / "credentials.json"
    kept.parent.mkdir()
    kept.write_text('{"admin_api_key": "cos_not-a-key", "stripe_webhook_secret": "whsec_x"}')
    runner = RunnerProcess(tmp_path, clean_env(), TEST_TOPOLOGY)
    assert runner.process.wait(timeout=30) == 2
    runner.stop()
    assert f"infra.local: {kept} is not as the runner wrote it: delete it" in runner.log()


def test_the_banner_says_what_a_restart_keeps_and_what_it_loses(runner: RunnerProcess) -> None:
    log = runner.log()
    assert f"These facts are in {runner.local_dir / 'local.json'} until it stops." in log
    assert (
        "Data is not kept: every start begins with empty tables, queues and buckets "
        "(moto holds them in memory)."
    ) in log
    assert (
        "The admin key and the webhook secret are kept across restarts in "
        f"{runner.local_dir / 'credentials.json'}"
    ) in log


@pytest.mark.parametrize(
    "bad", ["nope", "cos_UPPERCASE0000000_" + "x" * 32, "cos_0123456789abcdef_short"]
)
def test_a_malformed_admin_key_stops_the_runner_with_a_clear_error(
    tmp_path: Path, bad: str
) -> None:
    runner = RunnerProcess(tmp_path, clean_env(COGNITION_ADMIN_API_KEY=bad), TEST_TOPOLOGY)
    assert runner.process.wait(timeout=30) == 2
    runner.stop()
    assert "COGNITION_ADMIN_API_KEY must look like cos_<key id>_<secret>" in runner.log()
    assert not (runner.local_dir / "local.json").exists()


# --- functions: environment, context, workers ---------------------------------------------


def test_a_function_sees_its_resources_and_lambda_environment(runner: RunnerProcess) -> None:
    status, _, body = raw_request(runner, "GET", "/echo/env")
    assert status == 200
    answer = json.loads(body)
    env = answer["env"]
    sqs = runner.client("sqs")
    assert env["OBSERVATIONS_TABLE"] == "cognitionos-observations"
    assert env["WORK_QUEUE_URL"] == sqs.get_queue_url(QueueName="cognitionos-work")["QueueUrl"]
    webhook_arn = runner.client("secretsmanager").describe_secret(
        SecretId="cognitionos/stripe-webhook"
    )["ARN"]
    assert env["STRIPE_WEBHOOK_SECRET_ID"] == webhook_arn
    assert env["POWERTOOLS_SERVICE_NAME"] == "echo"
    assert env["AWS_ENDPOINT_URL"] == runner.info["aws_endpoint_url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["AWS_ENDPOINT_URL_LAMBDA"])
    assert env["AWS_ENDPOINT_URL_LAMBDA"] != runner.url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "cognitionos-echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["COGNITION_ALLOW_LOOPBACK_TARGETS"] == "1"
    assert env["COGNITION_PROBE"] == "passed through"
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"  # a provider's, passed through
    assert "COGNITION_ADMIN_API_KEY" not in env
    assert "STRIPE_WEBHOOK_SECRET" not in env
    assert "JOB_FUNCTIONS" not in env  # only functions that invoke jobs get it
    assert answer["sys_path"] == [str(ROOT / "functions"), str(ROOT / "layers/kernel/python")]

    context = answer["context"]
    assert context["function_name"] == "cognitionos-echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:cognitionos-echo"
    )
    assert context["memory_limit_in_mb"] == 512
    assert uuid.UUID(context["aws_request_id"])
    assert context["log_group_name"] == "/aws/lambda/cognitionos-echo"
    assert 25_000 < context["remaining_ms"] <= 29_000


def test_a_warm_worker_is_reused(runner: RunnerProcess) -> None:
    first = json.loads(raw_request(runner, "GET", "/echo/warm")[2])
    second = json.loads(raw_request(runner, "GET", "/echo/warm")[2])
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1
    assert second["context"]["aws_request_id"] != first["context"]["aws_request_id"]


def test_at_most_four_workers_run_a_function_at_once(runner: RunnerProcess) -> None:
    def call(_: int) -> dict[str, Any]:
        response = requests.get(f"{runner.url}/echo/busy?sleep=0.5", timeout=60)
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(call, range(10)))
    pids = {answer["pid"] for answer in answers}
    assert 2 <= len(pids) <= 4


# --- API Gateway: the v2.0 event ----------------------------------------------------------


def test_a_json_body_arrives_byte_for_byte_with_every_request_detail(
    runner: RunnerProcess,
) -> None:
    raw = '{ "b":\t[1 ,2],\r\n  "emoji": "😀", "esc": "\\u00e9", "é": 1.50 }\n\n'.encode()
    before = time.time()
    status, response_headers, body = raw_request(
        runner,
        "POST",
        "/echo/it%C3%A9m%20one?x=1&x=2&y=%C3%A9&empty=",
        headers=[
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "tester/1.0"),
            ("X-Mixed-Case", "Value"),
        ],
        body=raw,
    )
    assert status == 200, body
    event = json.loads(body)["event"]
    assert event["body"] == raw.decode("utf-8")
    assert event["body"].encode("utf-8") == raw
    assert event["isBase64Encoded"] is False
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /echo/{item_id}"
    assert event["rawPath"] == "/echo/itém one"
    assert event["rawQueryString"] == "x=1&x=2&y=%C3%A9&empty="
    assert event["queryStringParameters"] == {"x": "1,2", "y": "é", "empty": ""}
    assert event["pathParameters"] == {"item_id": "itém one"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert "cookie" not in headers
    assert headers["x-multi"] == "a,b"
    assert headers["x-mixed-case"] == "Value"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["content-length"] == str(len(raw))
    assert headers["user-agent"] == "tester/1.0"
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/echo/itém one",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tester/1.0",
    }
    assert context["routeKey"] == "POST /echo/{item_id}"
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["apiId"]
    assert context["domainName"] == "127.0.0.1"
    assert context["domainPrefix"]
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert before * 1000 - 1000 <= context["timeEpoch"] <= time.time() * 1000
    assert dict(response_headers)["apigw-requestid"] == context["requestId"]


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/octet-stream", bytes(range(256))),
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("application/json", b'{"bad utf-8": "\xff\xfe"}'),  # textual type, not UTF-8
        (None, b"no content type"),
    ],
)
def test_a_binary_body_arrives_base64_encoded(
    runner: RunnerProcess, content_type: str | None, raw: bytes
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = echo_event(runner, "POST", "/echo/binary", headers=headers, body=raw)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "text/javascript"],
)
def test_textual_bodies_arrive_as_text(runner: RunnerProcess, content_type: str) -> None:
    raw = "a=1&b=ü  \n".encode()
    event = echo_event(
        runner, "POST", "/echo/text", headers=[("Content-Type", content_type)], body=raw
    )
    assert event["isBase64Encoded"] is False
    assert event["body"] == raw.decode()


OVER_API_GATEWAY_LIMIT = 10 * 1024 * 1024 + 1


@pytest.mark.parametrize(
    ("framing", "opening"),
    [
        ("Content-Length", b""),
        ("chunked", f"{OVER_API_GATEWAY_LIMIT:x}\r\n".encode()),  # one chunk, none of it sent
    ],
)
def test_a_body_over_api_gateways_limit_is_a_413_without_being_read(
    runner: RunnerProcess, framing: str, opening: bytes
) -> None:
    url = urlsplit(runner.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.putrequest("POST", "/echo/huge")
    conn.putheader("Content-Type", "application/json")
    if framing == "chunked":
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(OVER_API_GATEWAY_LIMIT))
    conn.endheaders(opening or None)
    # Nothing more is sent: an answer proves the runner did not wait for (or read) the body.
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    assert response.getheader("Connection") == "close"
    conn.close()


def test_a_request_without_body_or_query_omits_those_fields(runner: RunnerProcess) -> None:
    event = echo_event(runner, "GET", "/echo/plain")
    assert "body" not in event
    assert "queryStringParameters" not in event
    assert "cookies" not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"item_id": "plain"}


def test_routes_match_like_api_gateway(runner: RunnerProcess) -> None:
    special = echo_event(runner, "GET", "/echo/special")
    assert special["routeKey"] == "GET /echo/special"  # a literal segment beats {item_id}
    assert "pathParameters" not in special
    nested = echo_event(runner, "GET", "/echo/abc/files/report.txt")
    assert nested["routeKey"] == "GET /echo/{item_id}/files/{name}"
    assert nested["pathParameters"] == {"item_id": "abc", "name": "report.txt"}
    for method, target in [("GET", "/nope"), ("DELETE", "/echo/x"), ("GET", "/echo/a/b")]:
        status, _, body = raw_request(runner, method, target)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), target


# --- API Gateway: response mapping ---------------------------------------------------------


def respond(runner: RunnerProcess, spec: dict[str, Any]) -> requests.Response:
    return requests.post(f"{runner.url}/respond", json=spec, timeout=30)


def test_a_structured_answer_sets_status_headers_cookies_and_body(runner: RunnerProcess) -> None:
    response = respond(
        runner,
        {
            "result": {
                "statusCode": 201,
                "headers": {"content-type": "text/plain", "x-one": "1"},
                "multiValueHeaders": {"x-many": ["a", "b"]},
                "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
                "body": "créé",
            }
        },
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-one"] == "1"
    assert response.raw.headers.getlist("x-many") == ["a", "b"]
    assert response.raw.headers.getlist("set-cookie") == [
        "session=abc; Path=/; HttpOnly",
        "theme=dark",
    ]
    assert response.content == "créé".encode()


def test_a_base64_answer_is_decoded(runner: RunnerProcess) -> None:
    payload = bytes(range(200, 256))
    response = respond(
        runner,
        {
            "result": {
                "statusCode": 200,
                "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True,
                "body": base64.b64encode(payload).decode(),
            }
        },
    )
    assert response.status_code == 200
    assert response.content == payload


@pytest.mark.parametrize(
    ("result", "body"),
    [({"hello": "world", "n": 1}, {"hello": "world", "n": 1}), ("just text", "just text")],
)
def test_an_answer_without_status_code_is_200_json(
    runner: RunnerProcess, result: Any, body: Any
) -> None:
    response = respond(runner, {"result": result})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize("spec", [{"raise": "boom"}, {"result": {"statusCode": "two hundred"}}])
def test_a_failing_function_is_a_500(runner: RunnerProcess, spec: dict[str, Any]) -> None:
    response = respond(runner, spec)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_a_function_past_its_timeout_is_killed_and_answers_503(runner: RunnerProcess) -> None:
    started = time.monotonic()
    response = respond(runner, {"sleep": 10})
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
    assert elapsed < 8  # the function's timeout is 2 s (plus a cold start)
    after = respond(runner, {"result": {"ok": True}})  # a fresh worker takes over
    assert after.json() == {"ok": True}


# --- the Lambda Invoke API ----------------------------------------------------------------


def test_boto3_lambda_invoke_in_a_handler_runs_the_local_job_function(
    runner: RunnerProcess,
) -> None:
    answer = requests.post(
        f"{runner.url}/jobs/tick", json={"detail": {"job": "tick"}}, timeout=60
    ).json()
    assert answer == {
        "status": 200,
        "function_error": None,
        "executed_version": "$LATEST",
        "payload": {"ticked": True, "job": "tick"},
    }


def test_a_failing_job_comes_back_as_a_function_error(runner: RunnerProcess) -> None:
    answer = requests.post(f"{runner.url}/jobs/tick", json={"fail": True}, timeout=60).json()
    assert answer["status"] == 200
    assert answer["function_error"] == "Unhandled"
    assert answer["payload"]["errorType"] == "RuntimeError"
    assert answer["payload"]["errorMessage"] == "tick failed on request"
    assert any("tick" in line for line in answer["payload"]["stackTrace"])


def test_an_unknown_function_is_resource_not_found(runner: RunnerProcess) -> None:
    answer = requests.post(f"{runner.url}/jobs/cognitionos-ghost", json={}, timeout=60).json()
    assert answer["error"] == "ResourceNotFoundException"


# --- SQS: batches, partial failures, the DLQ ------------------------------------------------


def test_only_the_records_reported_failed_are_retried(runner: RunnerProcess) -> None:
    test = f"partial-{uuid.uuid4().hex}"
    send(
        runner,
        "cognitionos-work",
        {"test": test, "key": "ok-1"},
        {"test": test, "key": "flaky", "fail": 2},  # fails on its first receive only
        {"test": test, "key": "ok-2"},
    )
    wait_for(lambda: [o for o in observations(runner, test) if o["key"] == "flaky"][1:])
    time.sleep(2.5)  # time for any wrong retry (the retry delay is 1 s)
    seen = observations(runner, test)
    by_key: dict[str, list[int]] = {}
    for o in seen:
        by_key.setdefault(o["key"], []).append(o["receive_count"])
    assert by_key == {"ok-1": [1], "ok-2": [1], "flaky": [1, 2]}
    assert queue_depth(runner, "cognitionos-work") == 0
    assert drain_dlq(runner, "cognitionos-work-dlq", test) == []


def test_records_arrive_as_lambda_sqs_event_records(runner: RunnerProcess) -> None:
    test = f"shape-{uuid.uuid4().hex}"
    body = json.dumps({"test": test, "key": "shaped"})
    runner.client("sqs").send_message(
        QueueUrl=queue_url(runner, "cognitionos-work"),
        MessageBody=body,
        MessageAttributes={
            "text": {"DataType": "String", "StringValue": "v"},
            "count": {"DataType": "Number", "StringValue": "7"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    [seen] = wait_for(lambda: observations(runner, test))
    record = seen["record"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:cognitionos-work"
    assert record["awsRegion"] == "us-east-1"
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "text": {
            "stringValue": "v",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {
            "stringValue": "7",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


@pytest.mark.parametrize("how", ["reported", "raised"])
def test_a_record_failing_every_time_lands_in_the_dlq_exactly_once(
    runner: RunnerProcess, how: str
) -> None:
    test = f"poison-{how}-{uuid.uuid4().hex}"
    failure = {"fail": "always"} if how == "reported" else {"raise": True}
    send(runner, "cognitionos-work", {"test": test, "key": "poison", **failure})
    dead: list[dict[str, Any]] = []

    def in_dlq() -> bool:
        dead.extend(drain_dlq(runner, "cognitionos-work-dlq", test))
        return bool(dead)

    wait_for(in_dlq, timeout_s=30)
    time.sleep(2.5)  # it must not come back: no further attempt, no second DLQ copy
    dead.extend(drain_dlq(runner, "cognitionos-work-dlq", test))
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"])["key"] == "poison"
    attempts = [o["receive_count"] for o in observations(runner, test)]
    assert attempts == list(range(1, MAX_RECEIVES + 1))


def test_a_function_error_fails_the_whole_batch(runner: RunnerProcess) -> None:
    """Settling a batch after a function error: every record comes back (real moto)."""
    sqs, url, messages = _received_batch(runner, ["a", "b", "c"])
    poller = _poller(runner, url, Invocation("r", b'{"errorType": "X"}', "Unhandled"))
    poller.process_batch(messages)
    assert _receive(sqs, url) == []  # not visible before the retry delay
    time.sleep(1.3)
    again = _receive(sqs, url)
    assert sorted(m["Body"] for m in again) == ["a", "b", "c"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again} == {"2"}


@pytest.mark.parametrize(
    ("response", "retried"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "<b>"}]}, ["b"]),
        ({"batchItemFailures": []}, []),
        (None, []),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, ["a", "b", "c"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, ["a", "b", "c"]),
    ],
)
def test_batch_item_failures_are_honoured_like_lambda(
    runner: RunnerProcess, response: Any, retried: list[str]
) -> None:
    sqs, url, messages = _received_batch(runner, ["a", "b", "c"])
    ids = {m["Body"]: m["MessageId"] for m in messages}
    payload = json.dumps(response).replace("<b>", ids["b"]).encode()
    _poller(runner, url, Invocation("r", payload)).process_batch(messages)
    time.sleep(1.3)
    assert sorted(m["Body"] for m in _receive(sqs, url)) == retried


def test_moto_hands_a_fifo_groups_retried_messages_back_in_order(runner: RunnerProcess) -> None:
    """The runner's fix for moto 5.2.5: two failed messages of a group come back in order."""
    sqs = runner.client("sqs")
    url = sqs.create_queue(
        QueueName=f"order-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"},
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=str(i)
        )
    first = _receive(sqs, url)
    assert [m["Body"] for m in first] == ["m0", "m1", "m2"]
    assert _receive(sqs, url) == []  # the group is in flight
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    for message in first[1:]:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1
        )
    time.sleep(1.3)
    assert [m["Body"] for m in _receive(sqs, url)] == ["m1", "m2"]


@pytest.mark.parametrize("fifo", [False, True])
def test_a_long_poll_does_not_hold_up_other_requests(runner: RunnerProcess, fifo: bool) -> None:
    """The runner serves one moto request at a time; a waiting ReceiveMessage gives way."""
    sqs = runner.client("sqs")
    suffix = ".fifo" if fifo else ""
    url = sqs.create_queue(
        QueueName=f"poll-{uuid.uuid4().hex[:8]}{suffix}",
        Attributes={"FifoQueue": "true"} if fifo else {},
    )["QueueUrl"]
    if fifo:  # a group in flight: moto re-checks the queue in a loop for the whole wait
        for i in range(2):
            sqs.send_message(
                QueueUrl=url, MessageBody=str(i), MessageGroupId="g", MessageDeduplicationId=str(i)
            )
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    poll = threading.Thread(
        target=lambda: runner.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10)
    )
    poll.start()
    time.sleep(0.5)
    runner.client("dynamodb").describe_table(TableName="cognitionos-observations")
    # Had the poll held the runner, the describe would have waited for its 10 s to end.
    assert poll.is_alive()
    poll.join()


def test_a_fifo_group_is_processed_serially_and_in_order(runner: RunnerProcess) -> None:
    test = f"fifo-{uuid.uuid4().hex}"
    sqs = runner.client("sqs")
    url = queue_url(runner, "cognitionos-ordered.fifo")
    sent: dict[str, list[str]] = {"A": [], "B": []}
    for group, count in (("A", 7), ("B", 4)):
        entries = []
        for i in range(count):
            key = f"{group}{i}"
            body: dict[str, Any] = {"test": test, "key": key}
            if key == "A1":
                body["fail"] = 2  # fails once: A1 and everything after it in its batch retry
            entries.append(
                {
                    "Id": key,
                    "MessageBody": json.dumps(body),
                    "MessageGroupId": f"{test}-{group}",
                    "MessageDeduplicationId": f"{test}-{key}",
                }
            )
            sent[group].append(key)
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    wait_for(lambda: len(observations(runner, test)) >= 11, timeout_s=30)
    time.sleep(1.5)
    done = observations(runner, test)
    batches = observations(runner, f"{test}#batches")
    for group, keys in sent.items():
        order = [o["key"] for o in done if o["group"] == f"{test}-{group}"]
        assert order == keys, f"group {group} ran out of order or twice: {order}; {batches}"
    a1 = next(o for o in done if o["key"] == "A1")
    assert a1["receive_count"] == 2
    attributes = a1["record"]["attributes"]
    assert attributes["MessageGroupId"] == f"{test}-A"
    assert attributes["MessageDeduplicationId"] == f"{test}-A1"
    assert attributes["SequenceNumber"].isdigit()

    for group in (f"{test}-A", f"{test}-B"):
        spans = sorted(
            (float(b["started"]), float(b["ended"])) for b in batches if group in b["groups"]
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two batches of {group} overlapped"


def _received_batch(
    runner: RunnerProcess, bodies: list[str]
) -> tuple[Any, str, list[dict[str, Any]]]:
    """A fresh queue (with a DLQ) holding ``bodies``, received as one batch."""
    sqs = runner.client("sqs")
    name = f"settle-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    )
    messages = _receive(sqs, url)
    assert sorted(m["Body"] for m in messages) == sorted(bodies)
    return sqs, url, messages


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    )


class _StubWorkers:
    def __init__(self, outcome: Invocation) -> None:
        self.outcome = outcome
        self.events: list[dict[str, Any]] = []

    def invoke(self, name: str, payload: bytes) -> Invocation:
        self.events.append(json.loads(payload))
        return self.outcome


def _poller(runner: RunnerProcess, url: str, outcome: Invocation) -> QueuePoller:
    source = EventSource("settle", url, "arn:settle", "settle-fn", False, 10, 5)
    return QueuePoller(
        source,
        sqs=runner.client("sqs"),
        workers=_StubWorkers(outcome),  # type: ignore[arg-type]
        region="us-east-1",
        retry_delay_s=1,
        concurrency=1,
    )


# --- shutdown -----------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_real_topology_starts_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    runner = RunnerProcess(tmp_path, clean_env(COGNITION_SCHEDULES="off"))
    try:
        info = runner.wait_ready()
        requests.get(f"{info['api_url']}/health", timeout=60)  # starts a worker process
        children = runner.children()
        assert children, "expected worker processes"
    except BaseException:
        runner.stop()
        raise
    started = time.monotonic()
    assert runner.stop(sig) == 0, runner.log()
    assert time.monotonic() - started < 10
    assert not (runner.local_dir / "local.json").exists()  # its URLs no longer answer
    wait_for(lambda: not [pid for pid in children if alive(pid)], timeout_s=5)


# --- schedules (last: both runners must have crossed a minute boundary) --------------------


def test_schedules_fire_when_on_and_never_when_off(runners: dict[str, RunnerProcess]) -> None:
    latest_start = max(r.started for r in runners.values())
    boundary = (int(latest_start) // 60 + 1) * 60  # the first minute both runners saw begin
    time.sleep(max(0.0, boundary + 6 - time.time()))

    def scheduled(runner: RunnerProcess) -> list[dict[str, Any]]:
        events = [json.loads(o["event"]) for o in observations(runner, "tick")]
        return [e for e in events if e.get("source") == "aws.scheduler"]

    fired = wait_for(lambda: scheduled(runners["on"]), timeout_s=10)
    event = fired[0]
    assert event["detail"] == {"job": "tick"}
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/tick"]
    assert event["time"].endswith(":00Z")
    assert scheduled(runners["off"]) == []


# --- pure parts: cron and rate, routes, responses -------------------------------------------

T0 = datetime(2025, 3, 14, 10, 7, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", T0, datetime(2025, 3, 14, 12, 0, tzinfo=UTC)),
        (
            "cron(0 12 * * ? *)",
            datetime(2025, 3, 14, 12, 0, tzinfo=UTC),
            datetime(2025, 3, 15, 12, 0, tzinfo=UTC),
        ),
        ("cron(*/15 * * * ? *)", T0, datetime(2025, 3, 14, 10, 15, tzinfo=UTC)),
        ("cron(5/20 * * * ? *)", T0, datetime(2025, 3, 14, 10, 25, tzinfo=UTC)),
        (
            "cron(0 8 ? * MON-FRI *)",
            datetime(2025, 3, 15, 9, 0, tzinfo=UTC),
            datetime(2025, 3, 17, 8, 0, tzinfo=UTC),
        ),
        ("cron(0 0 L * ? *)", datetime(2024, 2, 3, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)),
        ("cron(0 9 ? * 2#1 *)", T0, datetime(2025, 4, 7, 9, 0, tzinfo=UTC)),
        ("cron(0 9 ? * 6L *)", T0, datetime(2025, 3, 28, 9, 0, tzinfo=UTC)),
        (
            "cron(0 10 15W * ? *)",
            datetime(2025, 3, 1, tzinfo=UTC),
            datetime(2025, 3, 14, 10, 0, tzinfo=UTC),
        ),
        (
            "cron(0 18 LW * ? *)",
            datetime(2025, 5, 1, tzinfo=UTC),
            datetime(2025, 5, 30, 18, 0, tzinfo=UTC),
        ),
        ("cron(30 1-3 1,15 JAN,JUL ? 2030)", T0, datetime(2030, 1, 1, 1, 30, tzinfo=UTC)),
        ("cron(0 0 1 1 ? 2020-2024)", T0, None),
        ("cron(0 6 ? * SUN,SAT *)", T0, datetime(2025, 3, 15, 6, 0, tzinfo=UTC)),
    ],
)
def test_cron_next_fire_time(expression: str, after: datetime, expected: datetime | None) -> None:
    assert parse(expression, T0).next_after(after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * *)",  # five fields
        "cron(0 12 * * * *)",  # neither day field is ?
        "cron(0 12 ? * ? *)",  # both are
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 12 10-5 * ? *)",
        "cron(*/0 12 * * ? *)",
        "cron(0 12 ? * FUNDAY *)",
        "rate(0 minutes)",
        "rate(1 week)",
        "every day",
    ],
)
def test_invalid_schedule_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse(expression, T0)


def test_rate_fires_one_period_after_start_then_every_period() -> None:
    rate = parse("rate(1 minute)", T0)
    assert rate.next_after(T0) == T0 + timedelta(minutes=1)
    assert rate.next_after(T0 + timedelta(seconds=90)) == T0 + timedelta(minutes=2)
    assert parse("rate(2 hours)", T0).next_after(T0) == T0 + timedelta(hours=2)
    assert parse("rate(3 days)", T0).next_after(T0) == T0 + timedelta(days=3)


def test_the_scheduler_fires_due_jobs_until_stopped() -> None:
    fired: list[datetime] = []
    lock = threading.Lock()

    def fire(job: ScheduledJob, when: datetime) -> None:
        with lock:
            fired.append(when)

    rate = Rate(timedelta(milliseconds=200), datetime.now(UTC))
    scheduler = Scheduler([ScheduledJob("j", "fn", "rate(fast)", rate)], fire)
    scheduler.start()
    time.sleep(1.1)
    scheduler.stop()
    count = len(fired)
    time.sleep(0.5)
    assert 3 <= count <= 6
    assert len(fired) == count
    assert fired == sorted(fired)


def test_route_table_prefers_literal_then_param_then_greedy() -> None:
    table = RouteTable(
        [
            ("GET", "/a/{x}", "param"),
            ("GET", "/a/b", "literal"),
            ("GET", "/a/{rest+}", "greedy"),
            ("ANY", "/a/b", "any"),
            ("POST", "/a/{x}/c", "post"),
        ]
    )
    assert table.match("GET", "/a/b").target == "literal"  # type: ignore[union-attr]
    assert table.match("PUT", "/a/b").target == "any"  # type: ignore[union-attr]
    param = table.match("GET", "/a/z%2Fy")
    assert (param.target, param.path_parameters) == ("param", {"x": "z/y"})  # type: ignore[union-attr]
    greedy = table.match("GET", "/a/b/c/d")
    assert (greedy.target, greedy.path_parameters) == ("greedy", {"rest": "b/c/d"})  # type: ignore[union-attr]
    assert table.match("POST", "/a/q/c").route_key == "POST /a/{x}/c"  # type: ignore[union-attr]
    assert table.match("GET", "/b") is None
    assert table.match("DELETE", "/a/q/c") is None


@pytest.mark.parametrize(
    ("invocation", "status", "body"),
    [
        (Invocation("r", b'{"statusCode": 204}'), 204, b""),
        (Invocation("r", b'{"statusCode": 200, "body": {"a": 1}}'), 200, b'{"a": 1}'),
        (Invocation("r", b"null"), 200, b"null"),
        (Invocation("r", b'{"statusCode": 99}'), 500, b'{"message": "Internal Server Error"}'),
        (Invocation("r", b"{}", "Unhandled"), 500, b'{"message": "Internal Server Error"}'),
        (Invocation("r", b"{}", "Unhandled", True), 503, b'{"message": "Service Unavailable"}'),
    ],
)
def test_response_mapping(invocation: Invocation, status: int, body: bytes) -> None:
    response = map_response(invocation)
    assert (response.status, response.body) == (status, body)
