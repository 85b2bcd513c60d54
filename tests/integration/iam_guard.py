"""IAM, as the topology declares it, checked on every AWS call a handler makes under moto.

moto does not enforce IAM, so a handler could call something its role will not allow and
every integration test would still pass. The guard wraps botocore's one entry point for API
calls: a call made while a topology function's handler module is on the stack is checked
against what ``infra/topology.py`` declares for that function (its ``TableAccess`` actions
and indexes, queues, bucket actions, secrets, the PII key, email templates, jobs), the same
declarations ``infra/constructs/policies.py`` turns into the function's role. A call the
role would not allow fails the test that made it (after the test, so that code which
catches AccessDenied cannot hide it). Calls made by the tests themselves (setup, checks)
are not checked.

Every checked call is also recorded; at the end of the session the calls seen per function
are written to ``tests/artifacts/iam-observed-<pid>.md`` next to the declared actions that
no test exercised.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.client import BaseClient

from infra import topology

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HANDLER_MODULES = {fn.handler.rsplit(".", 1)[0]: fn for fn in topology.FUNCTIONS}

# One IAM action per operation, where the operation's name is not the action's.
SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}
S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    # A bucket's settings, as the compliance checker reads them.
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
}
TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"}
CONSUME_ACTIONS = {"ReceiveMessage", "DeleteMessage", "GetQueueAttributes"}

Call = tuple[str, str]  # (IAM action, resource as a topology name)


def running_function() -> topology.Function | None:
    """The topology function whose handler module is innermost on the stack, if any."""
    frame = sys._getframe(2)
    while frame is not None:
        fn = HANDLER_MODULES.get(frame.f_globals.get("__name__", ""))
        if fn is not None:
            return fn
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _by_env(resources: Any) -> dict[str, Any]:
    """Physical name (table name, queue URL, ARN...) -> topology resource, from the env the
    integration fixture set, as the stack sets it."""
    return {os.environ[r.env_var]: r for r in resources if r.env_var in os.environ}


def _table_access(fn: topology.Function, table: topology.Table) -> topology.TableAccess | None:
    return next((a for a in fn.all_tables if a.table == table), None)


def dynamodb_calls(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(action, table name, index) of every item or index the call touches."""
    if operation in ITEM_OPERATIONS:
        return [(f"dynamodb:{operation}", params["TableName"], None)]
    if operation in {"Query", "Scan"}:
        return [(f"dynamodb:{operation}", params["TableName"], params.get("IndexName"))]
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [(f"dynamodb:{operation}", name, None) for name in params["RequestItems"]]
    if operation == "TransactWriteItems":
        return [
            (TRANSACT_ACTIONS[kind], spec["TableName"], None)
            for item in params["TransactItems"]
            for kind, spec in item.items()
        ]
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", i["Get"]["TableName"], None) for i in params["TransactItems"]]
    return [(f"dynamodb:{operation}", str(params.get("TableName")), None)]


def check(
    fn: topology.Function, service: str, operation: str, params: dict[str, Any]
) -> tuple[list[Call], list[str]]:
    """The calls made, and what of them the function's role would refuse."""
    if service == "dynamodb":
        tables = _by_env(topology.TABLES)
        calls, refused = [], []
        for action, name, index in dynamodb_calls(operation, params):
            table = tables.get(name)
            label = f"{table.name if table else name}{f' index {index}' if index else ''}"
            calls.append((action, label))
            access = _table_access(fn, table) if table else None
            if table == topology.AUDIT_TABLE and action in topology.AUDIT_DENIED_ACTIONS:
                allowed = False  # every role's explicit Deny (policies.deny_audit_changes)
            elif index is None:
                allowed = access is not None and action in access.actions
            else:
                allowed = access is not None and action == "dynamodb:Query"
                allowed = allowed and index in access.indexes
            if not allowed:
                refused.append(f"{action} on {label}")
        return calls, refused
    label, allowed = _other(fn, service, operation, params)
    action = f"{service}:{operation}"
    return [(action, label)], ([] if allowed else [f"{action} on {label}"])


def _other(
    fn: topology.Function, service: str, operation: str, params: dict[str, Any]
) -> tuple[str, bool]:
    if service == "sqs":
        queue = _by_env(topology.QUEUES).get(params.get("QueueUrl", ""))
        name = queue.name if queue else str(params.get("QueueUrl"))
        action = SQS_ACTIONS.get(operation, operation)
        if action == "SendMessage":
            return name, queue in fn.sends_to
        if action == "ChangeMessageVisibility":
            return name, queue is not None and queue == fn.consumes and fn.delays_retries
        dlq = next(
            (
                q
                for q in topology.QUEUES
                if os.environ.get(topology.DeadLetterQueue(q).env_var) == params.get("QueueUrl")
            ),
            None,
        )
        if dlq is not None:
            allowed = action == "GetQueueAttributes" and dlq in fn.reads_dlq_depth
            return f"{dlq.name}-dlq", allowed
        return name, queue is not None and queue == fn.consumes and action in CONSUME_ACTIONS
    if service == "s3":
        bucket = _by_env(topology.BUCKETS).get(params.get("Bucket", ""))
        name = f"{bucket.name}/*" if bucket else str(params.get("Bucket"))
        action = f"s3:{S3_ACTIONS.get(operation, operation)}"
        return name, any(a.bucket == bucket and action in a.actions for a in fn.buckets)
    if service == "secretsmanager":
        secret = _by_env(topology.SECRETS).get(params.get("SecretId", ""))
        name = secret.name if secret else str(params.get("SecretId"))
        return name, operation == "GetSecretValue" and secret in fn.all_secrets
    if service == "kms":
        return _kms(fn, operation, params)
    if service == "ses":
        template = _by_env(topology.EMAIL_TEMPLATES).get(params.get("Template", ""))
        name = template.name if template else str(params.get("Template"))
        sender = os.environ.get(topology.EMAIL_SENDER_ENV)
        allowed = operation == "SendTemplatedEmail" and template in fn.emails
        return name, allowed and params.get("Source") == sender
    if service == "lambda":
        jobs = json.loads(os.environ.get("JOB_FUNCTIONS") or "{}")
        name = str(params.get("FunctionName"))
        allowed = {jobs.get(j) for j in fn.invokes}
        if fn.validates_code:
            allowed.add(os.environ.get(topology.CODE_VALIDATE_ENV))
        return name, operation == "Invoke" and name in allowed
    return service, False


def _kms(fn: topology.Function, operation: str, params: dict[str, Any]) -> tuple[str, bool]:
    """The function's key grants (``Function.key_grants``), each key by the ARN its variable
    holds; a ReEncrypt needs ReEncryptFrom on its source and ReEncryptTo on its destination.
    Every context must name the subject and nothing else."""
    by_arn = {
        os.environ.get(g.key.env_var): g for g in fn.key_grants if g.key.env_var in os.environ
    }
    if operation == "ReEncrypt":
        source = by_arn.get(params.get("SourceKeyId"))
        target = by_arn.get(params.get("DestinationKeyId"))
        contexts = (
            params.get("SourceEncryptionContext"),
            params.get("DestinationEncryptionContext"),
        )
        allowed = (
            source is not None
            and "kms:ReEncryptFrom" in source.actions
            and target is not None
            and "kms:ReEncryptTo" in target.actions
            and all(set(c or {}) == {"subject_id"} for c in contexts)
        )
        return f"{params.get('SourceKeyId')} -> {params.get('DestinationKeyId')}", allowed
    grant = by_arn.get(params.get("KeyId"))
    name = grant.key.name if grant else str(params.get("KeyId"))
    subject_only = set(params.get("EncryptionContext") or {}) == {"subject_id"}
    return name, grant is not None and f"kms:{operation}" in grant.actions and subject_only


class Observations:
    """Calls seen per function over the session, for the artifact."""

    def __init__(self) -> None:
        self.calls: dict[str, set[Call]] = defaultdict(set)

    def write(self) -> Path | None:
        if not self.calls:
            return None
        lines = [
            "| function | resource | actions seen | declared, never seen |",
            "|---|---|---|---|",
        ]
        for fn in topology.FUNCTIONS:
            seen: dict[str, set[str]] = defaultdict(set)
            for action, resource in self.calls.get(fn.name, ()):
                seen[resource].add(action)
            declared: dict[str, set[str]] = defaultdict(set)
            for access in fn.all_tables:
                if access.actions:
                    declared[access.table.name] |= set(access.actions)
                for index in access.indexes:
                    declared[f"{access.table.name} index {index}"].add("dynamodb:Query")
            for resource in sorted(set(seen) | set(declared)):
                unseen = sorted(declared.get(resource, set()) - seen.get(resource, set()))
                lines.append(
                    f"| {fn.name} | {resource} | {', '.join(sorted(seen.get(resource, ())))} "
                    f"| {', '.join(unseen)} |"
                )
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"iam-observed-{os.getpid()}.md"
        path.write_text("\n".join(lines) + "\n")
        return path


_observations = Observations()


@pytest.fixture(scope="session")
def iam_observations() -> Iterator[Observations]:
    yield _observations
    _observations.write()


@pytest.fixture(autouse=True)
def iam_guard(iam_observations: Observations) -> Iterator[list[str]]:
    """Fails the test when a handler made an AWS call its topology entry does not allow."""
    refused: list[str] = []
    original = BaseClient._make_api_call

    def guarded(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        fn = running_function()
        if fn is not None:
            service = client.meta.service_model.service_name
            calls, denied = check(fn, service, operation, params)
            iam_observations.calls[fn.name].update(calls)
            refused.extend(f"{fn.name}: {d}" for d in denied)
        return original(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", guarded):
        yield refused
    assert not refused, "calls the function's role would refuse: " + "; ".join(sorted(set(refused)))
