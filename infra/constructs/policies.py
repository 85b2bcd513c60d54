"""Least-privilege IAM statements generated from a topology Function's declarations.

Every statement names one declared resource (or the resources of one declaration) and
nothing else: a permission exists because a line in ``infra/topology.py`` names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from infra import topology
from infra.constructs.email import Email
from infra.constructs.naming import pascal

READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",  # listing API keys pages through their small table
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
# A declared IndexRead: queries of that one index, no other read of its table.
INDEX_QUERY_ACTIONS = ("dynamodb:Query",)
SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
CONSUME_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
# DynamoDB, SQS, Secrets Manager and S3 use the stack key on the caller's behalf.
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# Functions call a topology Key directly: writers create (and unwrap) data keys, readers
# only unwrap them. Always with an encryption context naming the subject, and nothing else.
KEY_WRITE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
KEY_READ_ACTIONS = ("kms:Decrypt",)
SUBJECT_CONTEXT_ONLY = {
    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["subject_id"]},
    "Null": {"kms:EncryptionContextKeys": "false"},
}
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
INVOKE_ACTIONS = ("lambda:InvokeFunction",)
EMAIL_ACTIONS = ("ses:SendTemplatedEmail",)
# X-Ray has no resource-level permissions: these two actions only ever take "*".
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


@dataclass(frozen=True)
class Resources:
    """The deployed resources a policy may name, keyed by topology name."""

    key: kms.IKey
    tables: Mapping[str, dynamodb.ITable]
    queues: Mapping[str, sqs.IQueue]
    secrets: Mapping[str, secretsmanager.ISecret]
    keys: Mapping[str, kms.IKey] = field(default_factory=dict)
    email: Email | None = None
    buckets: Mapping[str, s3.IBucket] = field(default_factory=dict)


def _allow(sid: str, actions: Iterable[str], resources: Iterable[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=list(actions), resources=list(resources))


def _table_arns(table: topology.Table, resources: Resources) -> list[str]:
    # Each declared index by name rather than "<table>/index/*": no wildcard to justify.
    arn = resources.tables[table.name].table_arn
    return [arn, *(f"{arn}/index/{index.name}" for index in table.indexes)]


def touches_encrypted_resources(fn: topology.Function) -> bool:
    return bool(
        fn.tables or fn.index_reads or fn.sends_to or fn.consumes or fn.all_secrets or fn.buckets
    )


def object_arns(access: topology.BucketAccess, resources: Resources) -> str:
    """Every object of the bucket: keys are chosen at run time (a Stripe event id)."""
    return resources.buckets[access.bucket.name].arn_for_objects("*")


def _use_key(key: topology.Key, fn: topology.Function, resources: Resources) -> iam.PolicyStatement:
    actions = KEY_WRITE_ACTIONS if fn.pii == "write" else KEY_READ_ACTIONS
    statement = _allow(f"Use{pascal(key.name)}Key", actions, [resources.keys[key.name].key_arn])
    statement.add_conditions(SUBJECT_CONTEXT_ONLY)
    return statement


def statements(
    fn: topology.Function, resources: Resources, log_group: logs.ILogGroup
) -> list[iam.PolicyStatement]:
    """The statements ``fn`` needs, in a stable order; invocations are added by ``invoke``."""
    found = [_allow("WriteOwnLogs", LOG_ACTIONS, [log_group.log_group_arn])]
    for table in fn.table_reads:
        found.append(
            _allow(f"Read{pascal(table.name)}", READ_ACTIONS, _table_arns(table, resources))
        )
    for table in fn.table_writes:
        arn = resources.tables[table.name].table_arn
        found.append(_allow(f"Write{pascal(table.name)}", WRITE_ACTIONS, [arn]))
    for index_read in fn.index_reads:
        table, index = index_read.table, index_read.index
        arn = f"{resources.tables[table.name].table_arn}/index/{index}"
        found.append(
            _allow(f"Query{pascal(table.name)}{pascal(index)}", INDEX_QUERY_ACTIONS, [arn])
        )
    for queue in fn.sends_to:
        arn = resources.queues[queue.name].queue_arn
        found.append(_allow(f"SendTo{pascal(queue.name)}", SEND_ACTIONS, [arn]))
    if fn.consumes:
        arn = resources.queues[fn.consumes.name].queue_arn
        found.append(_allow(f"Consume{pascal(fn.consumes.name)}", CONSUME_ACTIONS, [arn]))
    for secret in fn.all_secrets:
        arn = resources.secrets[secret.name].secret_arn
        found.append(_allow(f"Read{pascal(secret.name)}Secret", SECRET_ACTIONS, [arn]))
    for access in fn.buckets:
        sid = f"{pascal(access.bucket.name)}Objects"
        found.append(_allow(sid, access.actions, [object_arns(access, resources)]))
    if fn.emails:
        found.append(send_email(fn, resources))
    if touches_encrypted_resources(fn):
        found.append(_allow("UseStackKey", KMS_ACTIONS, [resources.key.key_arn]))
    found.extend(_use_key(key, fn, resources) for key in fn.keys)
    return found


def send_email(fn: topology.Function, resources: Resources) -> iam.PolicyStatement:
    """Its templates, sent as the configured sender only (through its address or domain)."""
    if resources.email is None:
        raise ValueError(f"{fn.name} sends email but the stack has no Email construct")
    email = resources.email
    return iam.PolicyStatement(
        sid="SendEmail",
        actions=list(EMAIL_ACTIONS),
        resources=[*email.identity_arns(), *(email.template_arn(t.name) for t in fn.emails)],
        conditions={"StringEquals": {"ses:FromAddress": email.sender}},
    )


def invoke(fn: topology.Function, targets: Mapping[str, lambda_.IFunction]) -> iam.PolicyStatement:
    """``lambda:InvokeFunction`` on exactly the job functions ``fn`` declares in ``invokes``."""
    arns = [targets[job].function_arn for job in fn.invokes]
    return _allow("InvokeJobs", INVOKE_ACTIONS, arns)


def tracing() -> iam.PolicyStatement:
    return _allow("SendTraces", XRAY_ACTIONS, ["*"])
