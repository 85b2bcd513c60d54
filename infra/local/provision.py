"""Create, in moto, every resource the topology declares, and the admin API key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from infra.local.config import (
    FAKE_CREDENTIALS,
    STRIPE_API_KEY_UNSET,
    LocalConfig,
    TopologyModule,
    random_alnum,
)
from infra.topology import Bucket, Key, Queue, Secret, Table, email_templates

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

DLQ_RETENTION_S = 14 * 24 * 3600  # the SQS maximum, as the stack sets it
GENERATED_SECRET_LENGTH = 48  # the stack's SecretStringGenerator length

# Topology secrets whose local value comes from the user's environment.
STRIPE_WEBHOOK = "stripe-webhook"
STRIPE_API_KEY = "stripe-api-key"


@dataclass
class Resources:
    """Local names, URLs and ARNs of the provisioned resources, by topology name."""

    kms_key_id: str = ""
    keys: dict[str, str] = field(default_factory=dict)  # topology key name -> key ARN
    tables: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    secret_arns: dict[str, str] = field(default_factory=dict)
    secret_values: dict[str, str] = field(default_factory=dict)
    email_templates: dict[str, str] = field(default_factory=dict)
    email_sender: str = ""
    buckets: dict[str, str] = field(default_factory=dict)
    alarm_topic_arn: str = ""  # where a CloudWatch alarm would publish; nothing raises one here


class Aws:
    """boto3 clients for the moto endpoint, with the runner's fake credentials.

    ``endpoint_url`` None: boto3's default endpoints (inside ``mock_aws``, moto intercepts).
    """

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self.session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        self.endpoint_url = endpoint_url

    def sqs(self) -> SQSClient:
        return self.session.client("sqs", endpoint_url=self.endpoint_url)

    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", endpoint_url=self.endpoint_url)

    def secretsmanager(self) -> SecretsManagerClient:
        return self.session.client("secretsmanager", endpoint_url=self.endpoint_url)

    def kms(self) -> Any:
        return self.session.client("kms", endpoint_url=self.endpoint_url)

    def ses(self) -> Any:
        return self.session.client("ses", endpoint_url=self.endpoint_url)

    def s3(self) -> Any:
        return self.session.client("s3", endpoint_url=self.endpoint_url)

    def sns(self) -> Any:
        return self.session.client("sns", endpoint_url=self.endpoint_url)


def rotation_keys(topology: TopologyModule) -> list[Key]:
    """The keys some function may use only during a rotation (the previous PII key)."""
    found = (key for fn in topology.FUNCTIONS for key in fn.keys if key.during_rotation)
    return list(dict.fromkeys(found))


def provision(aws: Aws, topology: TopologyModule, config: LocalConfig) -> Resources:
    resources = Resources()
    kms = aws.kms()  # one client per service: making one costs more than a call to moto
    key = kms.create_key(Description=f"{config.prefix} local key")
    resources.kms_key_id = str(key["KeyMetadata"]["KeyId"])
    for declared in topology.KEYS:
        made = kms.create_key(Description=declared.description)
        resources.keys[declared.name] = str(made["KeyMetadata"]["Arn"])
    if config.pii_key_rotation:  # the key a rotation moves away from, as the stack imports it
        for declared in rotation_keys(topology):
            made = kms.create_key(Description=declared.description)
            resources.keys[declared.name] = str(made["KeyMetadata"]["Arn"])
    dynamodb = aws.dynamodb()
    for table in topology.TABLES:
        resources.tables[table.name] = create_table(
            dynamodb, table, config, kms_key_id=resources.kms_key_id
        )
    sqs = aws.sqs()
    for queue in topology.QUEUES:
        create_queue(sqs, queue, config, resources)
    if topology.ALARM_TOPIC_SUBSCRIBERS:
        create_alarm_topic(aws.sns(), topology.ALARM_TOPIC_SUBSCRIBERS, config, resources)
    for bucket in topology.BUCKETS:
        resources.buckets[bucket.name] = create_bucket(aws.s3(), bucket, config, resources)
    secrets = aws.secretsmanager()
    for secret in topology.SECRETS:
        value = secret_value(secret, config)
        created = secrets.create_secret(
            Name=f"{config.prefix}/{secret.name}",
            Description=secret.description,
            KmsKeyId=resources.kms_key_id,
            SecretString=value,
        )
        resources.secret_arns[secret.name] = created["ARN"]
        resources.secret_values[secret.name] = value
    create_email(aws.ses(), topology, config, resources)
    return resources


def create_email(ses: Any, topology: TopologyModule, config: LocalConfig, out: Resources) -> None:
    """The SES templates the functions send, and the sender as a verified identity."""
    ses.verify_email_identity(EmailAddress=config.email_sender)
    out.email_sender = config.email_sender
    for template in email_templates(topology.FUNCTIONS):
        name = template.physical_name(config.prefix)
        ses.create_template(
            Template={
                "TemplateName": name,
                "SubjectPart": template.subject,
                "TextPart": template.text,
                "HtmlPart": template.html,
            }
        )
        out.email_templates[template.name] = name


def secret_value(secret: Secret, config: LocalConfig) -> str:
    """Stripe's secrets come from the user's environment; any other is random or unset."""
    if secret.name == STRIPE_WEBHOOK:
        return config.webhook_secret
    if secret.name == STRIPE_API_KEY:
        return config.stripe_api_key
    return random_alnum(GENERATED_SECRET_LENGTH) if secret.generated else STRIPE_API_KEY_UNSET


def create_table(
    dynamodb: DynamoDBClient, table: Table, config: LocalConfig, *, kms_key_id: str | None = None
) -> str:
    """The table as the stack makes it: on demand, its indexes, TTL on the declared
    attribute, point-in-time recovery, and (given ``kms_key_id``) encrypted with that key."""
    name = f"{config.prefix}-{table.name}"
    key_names = [table.partition_key, *([table.sort_key] if table.sort_key else [])]
    for index in table.indexes:
        key_names += [index.partition_key, index.sort_key]
    attributes = [
        {"AttributeName": attr, "AttributeType": "S"} for attr in dict.fromkeys(key_names)
    ]
    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attributes,
        "KeySchema": _key_schema(table.partition_key, table.sort_key),
    }
    if table.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    if kms_key_id:
        kwargs["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": kms_key_id,
        }
    dynamodb.create_table(**kwargs)
    dynamodb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
    return name


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def create_bucket(s3: Any, bucket: Bucket, config: LocalConfig, made: Resources) -> str:
    """The bucket as the stack makes it: encrypted with the local key, private, expiring."""
    name = f"{config.prefix}-{bucket.name}"
    locked = bucket.object_lock_days is not None
    # us-east-1: no location constraint. Object Lock turns versioning on with it.
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
    if bucket.object_lock_days is not None:
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {
                    "DefaultRetention": {"Mode": "COMPLIANCE", "Days": bucket.object_lock_days}
                },
            },
        )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": made.kms_key_id,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-objects",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": bucket.expire_after_days},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    # A locked bucket's expired versions become noncurrent: gone a day later.
                    **({"NoncurrentVersionExpiration": {"NoncurrentDays": 1}} if locked else {}),
                }
            ]
        },
    )
    return name


def create_queue(sqs: SQSClient, queue: Queue, config: LocalConfig, out: Resources) -> None:
    """The queue and its DLQ; moto itself moves a message to the DLQ on the receive after
    its ``maxReceiveCount``-th, for standard and FIFO queues alike (checked on 5.2.5)."""
    fifo: dict[QueueAttributeNameType, str] = (
        {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if queue.fifo else {}
    )
    dlq_url = sqs.create_queue(
        QueueName=queue.physical_name(config.prefix, dlq=True),
        Attributes={**fifo, "MessageRetentionPeriod": str(DLQ_RETENTION_S)},
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    url = sqs.create_queue(
        QueueName=queue.physical_name(config.prefix),
        Attributes={
            **fifo,
            "VisibilityTimeout": str(queue.visibility_timeout_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receives}
            ),
        },
    )["QueueUrl"]
    out.queue_urls[queue.name] = url
    out.queue_arns[queue.name] = _queue_arn(sqs, url)
    out.dlq_urls[queue.name] = dlq_url


def create_alarm_topic(
    sns: Any, subscribers: tuple[Queue, ...], config: LocalConfig, out: Resources
) -> None:
    """The operators' alarm topic, delivering raw to its queues as the stack's does: publish
    a CloudWatch alarm notification to it (``AlarmTopicArn``'s stand-in) to try the path."""
    arn = str(sns.create_topic(Name=f"{config.prefix}-alarms")["TopicArn"])
    for queue in subscribers:
        sns.subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint=out.queue_arns[queue.name],
            Attributes={"RawMessageDelivery": "true"},
        )
    out.alarm_topic_arn = arn


def _queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def create_admin_key(
    aws: Aws, topology: TopologyModule, config: LocalConfig, resources: Resources
) -> str:
    """Store the admin key (the user's ``COGNITION_ADMIN_API_KEY`` or a new one)."""
    from cognitionos.auth import ADMIN, ApiKeyStore
    from cognitionos.timeutil import iso, now

    table = aws.session.resource("dynamodb", endpoint_url=aws.endpoint_url).Table(
        resources.tables[topology.API_KEYS_TABLE.name]
    )
    store = ApiKeyStore(table, resources.secret_values[topology.API_KEY_PEPPER.name])
    issued, _ = store.create("local admin", [ADMIN], None, iso(now()), raw_key=config.admin_key)
    return issued.key


def stack_outputs(topology: TopologyModule, resources: Resources) -> dict[str, str]:
    """The local resources under the names the deployed stack's outputs give them
    (``<Table>TableName``, ``<Secret>SecretArn``, ``<Key>KeyArn``): the runner writes them to
    ``outputs.json``, where the operator CLIs (``infra.admin_operator --local``) find them."""
    from infra.constructs.naming import pascal

    outputs = {f"{pascal(t.name)}TableName": resources.tables[t.name] for t in topology.TABLES}
    outputs |= {
        f"{pascal(s.name)}SecretArn": resources.secret_arns[s.name] for s in topology.SECRETS
    }
    outputs |= {f"{pascal(k.name)}KeyArn": resources.keys[k.name] for k in topology.KEYS}
    return outputs
