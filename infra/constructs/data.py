"""The stack's customer-managed KMS keys and the DynamoDB tables the stack key encrypts."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import setting_checks, topology
from infra.constructs.alarms import stack_alarm_arns, stack_topic_arns
from infra.constructs.naming import pascal


class Data(Construct):
    """``key`` encrypts everything at rest; ``tables`` maps topology table name -> Table.

    ``keys`` maps topology key name -> a key of its own (the PII key): only the functions
    that declare it may call it, through their roles; its key policy names no one else.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="CognitionOS: tables, queues, secrets, topics and log groups",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._allow_service_principals()
        self.tables = {table.name: self._table(table) for table in topology.TABLES}
        self.keys: dict[str, kms.IKey] = {key.name: self._key(key) for key in topology.KEYS}
        previous = self._previous_pii_key()
        if previous is not None:
            self.keys[topology.PII_PREVIOUS_KEY.name] = previous

    def _key(self, key: topology.Key) -> kms.Key:
        # Retained: deleting it would make every wrapped data key, and so every encrypted
        # field, unreadable at once. Rotation keeps old key material for old wrapped keys.
        return kms.Key(
            self,
            f"{pascal(key.name)}Key{self._generation_suffix(key)}",
            description=key.description,
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _generation_suffix(self, key: topology.Key) -> str:
        """ "" for the PII key's first generation (the logical id it always had), "Gen<n>"
        after: a new logical id makes CloudFormation create a new key and drop the old one
        from the stack, which keeps it in the account (retained) for the rotation."""
        if key != topology.PII_KEY:
            return ""
        value = str(self.node.try_get_context(topology.PII_KEY_GENERATION_CONTEXT) or "1")
        try:
            setting_checks.key_generation(value)
        except ValueError as exc:
            raise ValueError(f"context {topology.PII_KEY_GENERATION_CONTEXT}: {exc}") from None
        return "" if int(value) == 1 else f"Gen{int(value)}"

    def _previous_pii_key(self) -> kms.IKey | None:
        """The key a rotation moves away from (context piiPreviousKeyArn), if one is under way."""
        context = topology.PII_PREVIOUS_KEY.rotation_context
        arn = str(self.node.try_get_context(context) or "") if context else ""
        if not arn:
            return None
        try:
            setting_checks.kms_key_arn(arn)
        except ValueError as exc:
            raise ValueError(f"context {context}: {exc}") from None
        return kms.Key.from_key_arn(self, "PreviousPiiKey", arn)

    def _allow_service_principals(self) -> None:
        account = Aws.ACCOUNT_ID
        # CloudWatch Logs encrypts log groups with the key itself (not via the caller's role),
        # so the key policy must admit it: only for log groups of this account and region,
        # which Logs names in the encryption context of every call (and KMS binds the data
        # to it). aws:SourceAccount is checked too when Logs sends it; the encryption context
        # is what Logs documents for its key policy, so a call without the key is not refused.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{account}:log-group:*"
                        )
                    },
                    "StringEqualsIfExists": {"aws:SourceAccount": account},
                },
            )
        )
        # CloudWatch alarms publish to the KMS-encrypted alarm topic; without this the
        # notification is silently dropped. Only on behalf of this stack's own alarms
        # (aws:SourceArn) in this account (aws:SourceAccount): no other alarm, and no other
        # account's CloudWatch, can have the key used (the confused deputy).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": stack_alarm_arns(self)},
                },
            )
        )
        # The alarm topic delivers to encrypted queues (alarm-notifications): SNS encrypts
        # each message with the queue's key. Only for this stack's topics, in this account.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowStackTopicsToEncryptedQueues",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": stack_topic_arns(self)},
                },
            )
        )

    def _table(self, table: topology.Table) -> dynamodb.Table:
        string = dynamodb.AttributeType.STRING
        resource = dynamodb.Table(
            self,
            f"{pascal(table.name)}Table",
            partition_key=dynamodb.Attribute(name=table.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=table.sort_key, type=string)
            if table.sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            time_to_live_attribute=table.ttl_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table.indexes:
            resource.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return resource
