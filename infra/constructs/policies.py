"""Least-privilege IAM statements generated from a topology Function's declarations.

Every statement names one declared resource (or the resources of one declaration) and
nothing else: a permission exists because a line in ``infra/topology.py`` names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aws_cdk import Stack
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

# Table actions are declared one by one in the topology (``TableAccess``); a declared index
# is queried, and nothing else.
INDEX_QUERY_ACTIONS = ("dynamodb:Query",)
# A producer sends by queue URL: no GetQueueUrl, no GetQueueAttributes.
SEND_ACTIONS = ("sqs:SendMessage",)
# What Lambda's SQS event source mapping calls with the function's role (the actions of
# AWSLambdaSQSQueueExecutionRole): a failed record of a partial batch response is simply
# not deleted, so no ChangeMessageVisibility.
CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
# Alerts: a consumer that delays its own retries, and a reader of dead-letter queue depths.
DELAY_RETRY_ACTIONS = ("sqs:ChangeMessageVisibility",)
DLQ_DEPTH_ACTIONS = ("sqs:GetQueueAttributes",)
# DynamoDB, SQS, Secrets Manager and S3 use the stack key on the caller's behalf: every
# function that touches one of them decrypts; one that also produces encrypted data (sends
# a message, puts an object, writes items) generates data keys too.
KMS_DECRYPT_ACTIONS = ("kms:Decrypt",)
KMS_PRODUCE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# Functions call a topology Key directly, with the actions the topology grants
# (``Function.key_grants``: writers create and unwrap data keys, readers only unwrap, the
# rotation job re-wraps), always with an encryption context naming the subject and nothing
# else. The rotation job's ReEncrypt passes the same subject-only context as source and
# destination, so it meets the condition whichever of the two KMS evaluates.
SUBJECT_CONTEXT_ONLY = {
    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["subject_id"]},
    "Null": {"kms:EncryptionContextKeys": "false"},
}
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
INVOKE_ACTIONS = ("lambda:InvokeFunction",)
EMAIL_ACTIONS = ("ses:SendTemplatedEmail",)
# A function in a VPC (the alerts cache) manages its network interfaces: EC2 allows these on
# "*" only (AWSLambdaVPCAccessExecutionRole's actions).
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
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
    dead_letter_queues: Mapping[str, sqs.IQueue] = field(default_factory=dict)


def _allow(sid: str, actions: Iterable[str], resources: Iterable[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=list(actions), resources=list(resources))


def touches_encrypted_resources(fn: topology.Function) -> bool:
    return bool(fn.all_tables or fn.sends_to or fn.consumes or fn.all_secrets or fn.buckets)


def produces_encrypted_data(fn: topology.Function) -> bool:
    """Sends a message, puts an object or writes items: each encrypted with the stack key."""
    puts = any("s3:PutObject" in access.actions for access in fn.buckets)
    return bool(fn.sends_to) or puts or any(access.writes for access in fn.all_tables)


def stack_key_actions(fn: topology.Function) -> tuple[str, ...]:
    if not touches_encrypted_resources(fn):
        return ()
    return KMS_PRODUCE_ACTIONS if produces_encrypted_data(fn) else KMS_DECRYPT_ACTIONS


def table_statements(
    access: topology.TableAccess, resources: Resources
) -> list[iam.PolicyStatement]:
    """The declared actions on the table's items; Query on each declared index, by name
    (not "<table>/index/*": no wildcard to justify, and no index it did not ask for)."""
    arn = resources.tables[access.table.name].table_arn
    name = pascal(access.table.name)
    found = []
    if access.actions:
        found.append(_allow(f"{name}Table", access.actions, [arn]))
    if access.indexes:
        indexes = [f"{arn}/index/{index}" for index in access.indexes]
        found.append(_allow(f"Query{name}Indexes", INDEX_QUERY_ACTIONS, indexes))
    return found


def object_arns(access: topology.BucketAccess, resources: Resources) -> str:
    """Every object of the bucket: keys are chosen at run time (a Stripe event id)."""
    return resources.buckets[access.bucket.name].arn_for_objects("*")


def key_statements(fn: topology.Function, resources: Resources) -> list[iam.PolicyStatement]:
    """One statement per granted key the stack holds (the previous PII key only while a
    rotation is under way), with the subject-only encryption context."""
    found = []
    for grant in fn.key_grants:
        if grant.key.during_rotation and grant.key.name not in resources.keys:
            continue
        arn = resources.keys[grant.key.name].key_arn
        statement = _allow(f"Use{pascal(grant.key.name)}Key", grant.actions, [arn])
        statement.add_conditions(SUBJECT_CONTEXT_ONLY)
        found.append(statement)
    return found


def statements(
    fn: topology.Function, resources: Resources, log_group: logs.ILogGroup
) -> list[iam.PolicyStatement]:
    """The statements ``fn`` needs, in a stable order; invocations are added by ``invoke``."""
    found = [_allow("WriteOwnLogs", LOG_ACTIONS, [log_group.log_group_arn])]
    for table_access in fn.all_tables:
        found.extend(table_statements(table_access, resources))
    for queue in fn.sends_to:
        arn = resources.queues[queue.name].queue_arn
        found.append(_allow(f"SendTo{pascal(queue.name)}", SEND_ACTIONS, [arn]))
    if fn.consumes:
        arn = resources.queues[fn.consumes.name].queue_arn
        found.append(_allow(f"Consume{pascal(fn.consumes.name)}", CONSUME_ACTIONS, [arn]))
        if fn.delays_retries:
            sid = f"DelayRetriesOf{pascal(fn.consumes.name)}"
            found.append(_allow(sid, DELAY_RETRY_ACTIONS, [arn]))
    if fn.reads_dlq_depth:
        arns = [resources.dead_letter_queues[q.name].queue_arn for q in fn.reads_dlq_depth]
        found.append(_allow("ReadDeadLetterDepths", DLQ_DEPTH_ACTIONS, arns))
    for secret in fn.all_secrets:
        arn = resources.secrets[secret.name].secret_arn
        found.append(_allow(f"Read{pascal(secret.name)}Secret", SECRET_ACTIONS, [arn]))
    for access in fn.buckets:
        name = pascal(access.bucket.name)
        if access.object_actions:
            arns = [object_arns(access, resources)]
            found.append(_allow(f"{name}Objects", access.object_actions, arns))
        if access.bucket_actions:  # listing, settings reads: the bucket itself, not objects
            arn = resources.buckets[access.bucket.name].bucket_arn
            found.append(_allow(f"{name}Bucket", access.bucket_actions, [arn]))
    if fn.emails:
        found.append(send_email(fn, resources))
    if stack_key := stack_key_actions(fn):
        found.append(_allow("UseStackKey", stack_key, [resources.key.key_arn]))
    found.extend(key_statements(fn, resources))
    if fn.calls_models:
        found.append(invoke_models(log_group))
    found.append(deny_audit_changes(resources))
    return found


def deny_audit_changes(resources: Resources) -> iam.PolicyStatement:
    """Every role, whatever it is allowed: no update or delete of an audit entry (nor of an
    anchor record, kept in the same table). An explicit Deny wins over any Allow, so a
    later grant cannot undo it; chain heads live in their own table, which this leaves."""
    return iam.PolicyStatement(
        sid="NeverChangeAuditEntries",
        effect=iam.Effect.DENY,
        actions=list(topology.AUDIT_DENIED_ACTIONS),
        resources=[resources.tables[topology.AUDIT_TABLE.name].table_arn],
    )


# The Converse API is authorised as bedrock:InvokeModel on the model, or on the cross-region
# inference profile and the models it routes to (in any of its regions).
MODEL_ACTIONS = ("bedrock:InvokeModel",)


def invoke_models(scope: logs.ILogGroup) -> iam.PolicyStatement:
    stack = Stack.of(scope)
    return _allow(
        "InvokeModels",
        MODEL_ACTIONS,
        [
            "arn:aws:bedrock:*::foundation-model/*",
            f"arn:aws:bedrock:{stack.region}:{stack.account}:inference-profile/*",
        ],
    )


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


def invoke_validator(validator: lambda_.IFunction) -> iam.PolicyStatement:
    """``lambda:InvokeFunction`` on the code-validate function alone (``validates_code``)."""
    return _allow("InvokeCodeValidator", INVOKE_ACTIONS, [validator.function_arn])


def tracing() -> iam.PolicyStatement:
    return _allow("SendTraces", XRAY_ACTIONS, ["*"])


def vpc_access() -> iam.PolicyStatement:
    return _allow("ManageVpcNetworkInterfaces", VPC_ACTIONS, ["*"])
