"""Handlers of the test topology, run by the local runner in its worker processes.

What they see goes back in their answer (HTTP) or into the observations table (queues,
schedules), where the test process reads it through moto.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any

import boto3
from botocore.exceptions import ClientError

_invocations = {"count": 0}  # per execution environment: a warm start sees it go up


def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["OBSERVATIONS_TABLE"])


def _observe(pk: str, **fields: Any) -> None:
    item = {"pk": pk, "sk": f"{time.time_ns():020d}#{uuid.uuid4().hex}", "pid": os.getpid()}
    item.update({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in fields.items()})
    _table().put_item(Item=item)


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _invocations["count"] += 1
    sleep = (event.get("queryStringParameters") or {}).get("sleep")
    if sleep:
        time.sleep(float(sleep))
    return {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": dict(os.environ),
        "sys_path": sys.path[:2],
        "pid": os.getpid(),
        "invocations": _invocations["count"],
    }


def respond(event: dict[str, Any], context: Any) -> Any:
    """The request body says what to answer: ``{"result": ...}``; ``{"raise": message}``
    raises and ``{"sleep": seconds}`` sleeps first."""
    spec = json.loads(event["body"])
    if "sleep" in spec:
        time.sleep(spec["sleep"])
    if "raise" in spec:
        raise ValueError(spec["raise"])
    return spec.get("result")


def invoker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Runs ``{job}`` through boto3's Lambda client, as the platform admin route does."""
    job = event["pathParameters"]["job"]
    names = json.loads(os.environ["JOB_FUNCTIONS"])
    try:
        response = boto3.client("lambda").invoke(
            FunctionName=names.get(job, job),
            InvocationType="RequestResponse",
            Payload=(event.get("body") or "{}").encode(),
        )
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "message": str(exc)}
    return {
        "status": response["StatusCode"],
        "function_error": response.get("FunctionError"),
        "executed_version": response.get("ExecutedVersion"),
        "payload": json.loads(response["Payload"].read()),
    }


def tick(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _observe("tick", event=event, function_name=context.function_name)
    if event.get("fail"):
        raise RuntimeError("tick failed on request")
    return {"ticked": True, "job": (event.get("detail") or {}).get("job")}


def consume(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Body ``{"test", "key", "fail": "always" | <receive count it first succeeds at>,
    "raise": true}``: ``raise`` fails the whole batch, ``fail`` just that record."""
    records = event["Records"]
    failures = []
    raise_batch = False
    for record in records:
        body = json.loads(record["body"])
        count = int(record["attributes"]["ApproximateReceiveCount"])
        _observe(
            body["test"],
            key=body["key"],
            receive_count=count,
            batch=[r["messageId"] for r in records],
            record=record,
        )
        fail = body.get("fail")
        if fail == "always" or (isinstance(fail, int) and count < fail):
            failures.append({"itemIdentifier": record["messageId"]})
        raise_batch = raise_batch or bool(body.get("raise"))
    if raise_batch:
        raise RuntimeError("the batch failed on request")
    return {"batchItemFailures": failures}


def consume_ordered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """FIFO: once a record of a group fails, the group's later records in the batch are
    reported failed too (as Powertools' SqsFifoPartialProcessor does)."""
    started = time.time()
    time.sleep(0.2)  # long enough for a second batch of the same group to overlap, if any
    records = event["Records"]
    failures = []
    failed_groups: set[str] = set()
    for record in records:
        body = json.loads(record["body"])
        group = record["attributes"]["MessageGroupId"]
        count = int(record["attributes"]["ApproximateReceiveCount"])
        fail = body.get("fail")
        if group in failed_groups or (isinstance(fail, int) and count < fail):
            failed_groups.add(group)
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        _observe(body["test"], key=body["key"], group=group, receive_count=count, record=record)
    tests = {json.loads(r["body"])["test"] for r in records}
    for test in tests:
        _observe(
            f"{test}#batches",
            groups=sorted({r["attributes"]["MessageGroupId"] for r in records}),
            keys=[
                f"{json.loads(r['body'])['key']}@{r['attributes']['ApproximateReceiveCount']}"
                for r in records
            ],
            started=str(started),
            ended=str(time.time()),
        )
    return {"batchItemFailures": failures}
