"""The CognitionOS stack: every resource is derived from ``infra/topology.py``."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import topology
from infra.constructs.alarms import Alarms
from infra.constructs.api import Api
from infra.constructs.buckets import Buckets
from infra.constructs.cache import AlertsCache
from infra.constructs.data import Data
from infra.constructs.email import DEFAULT_SENDER, Email
from infra.constructs.functions import Functions
from infra.constructs.isolated_network import IsolatedNetwork
from infra.constructs.layers import Layers
from infra.constructs.naming import pascal
from infra.constructs.policies import Resources
from infra.constructs.queues import Queues
from infra.constructs.schedules import Schedules
from infra.constructs.secrets import Secrets
from infra.constructs.settings import deployment_settings

DESCRIPTION = (
    "CognitionOS: serverless back office (Stripe billing and revenue analytics). "
    "After deploying, set the operator-managed secrets named in the *SecretArn outputs: "
    "they hold random placeholders until then."
)


def _flag(value: Any) -> bool:
    """A CDK context flag: ``-c tracing=true`` arrives as a string, cdk.json as a bool."""
    return value is True or str(value).lower() == "true"


class CognitionOSStack(Stack):
    """Key, tables, queues, secrets, buckets, layers, functions, HTTP API, schedules, alarms."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=DESCRIPTION, **kwargs)
        settings = deployment_settings(self)  # a bad context value stops synth before any work
        self.data = Data(self, "Data")
        key = self.data.key
        self.alarms = Alarms(self, "Alarms", key=key, email=self.node.try_get_context("alarmEmail"))
        self.queues = Queues(self, "Queues", key=key, alarms=self.alarms)
        for queue in topology.ALARM_TOPIC_SUBSCRIBERS:
            self.alarms.deliver_to(self.queues.queues[queue.name], pascal(queue.name))
        self.secrets = Secrets(self, "Secrets", key=key)
        self.buckets = Buckets(self, "Buckets", key=key)
        self.email = Email(
            self, "Email", sender=self.node.try_get_context("emailSender") or DEFAULT_SENDER
        )
        self.layers = Layers(self, "Layers")
        # -c alertsCache=true: an ElastiCache Serverless (Valkey) cache for the alert
        # channels' rate limits, and its VPC for the functions that use it; off by default.
        self.cache = (
            AlertsCache(self, "AlertsCache", key=key)
            if _flag(self.node.try_get_context("alertsCache"))
            else None
        )
        # The functions that run submitted code (code-validate) live in subnets with no route.
        self.isolated_network = (
            IsolatedNetwork(self, "IsolatedNetwork", key=key)
            if any(fn.isolated for fn in topology.FUNCTIONS)
            else None
        )
        self.functions = Functions(
            self,
            "Functions",
            resources=Resources(
                key=key,
                tables=self.data.tables,
                queues=self.queues.queues,
                secrets=self.secrets.secrets,
                keys=self.data.keys,
                email=self.email,
                buckets=self.buckets.buckets,
                dead_letter_queues=self.queues.dead_letter_queues,
            ),
            layers=self.layers,
            settings=settings,
            tracing=_flag(self.node.try_get_context("tracing")),
            cache=self.cache,
            isolated_network=self.isolated_network,
        )
        self.api = Api(self, "Api", functions=self.functions.functions, key=key)
        self.schedules = Schedules(
            self, "Schedules", functions=self.functions.functions, key=key, alarms=self.alarms
        )
        self._outputs()

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")
        for route, _ in topology.routes():
            if route.auth == "stripe_signature":
                CfnOutput(
                    self,
                    "WebhookUrl",
                    value=f"{self.api.url}{route.path}",
                    description="Register this endpoint in Stripe's dashboard",
                )
        # Every secret ARN and table name: operators set the Stripe secrets, and
        # `python -m infra.admin_key` finds the key table and pepper through these.
        operator_managed = Secrets.operator_managed()
        for secret in topology.SECRETS:
            action = "Operator sets this" if secret in operator_managed else "Generated at deploy"
            CfnOutput(
                self,
                f"{pascal(secret.name)}SecretArn",
                value=self.secrets.secrets[secret.name].secret_arn,
                description=f"{action}: {secret.description}",
            )
        for table in topology.TABLES:
            CfnOutput(
                self,
                f"{pascal(table.name)}TableName",
                value=self.data.tables[table.name].table_name,
                description=f"DynamoDB table {table.name}",
            )
        for bucket in topology.BUCKETS:
            CfnOutput(
                self,
                f"{pascal(bucket.name)}BucketName",
                value=self.buckets.buckets[bucket.name].bucket_name,
                description=f"S3 bucket {bucket.name} (objects expire after "
                f"{bucket.expire_after_days} days)",
            )
        for key in topology.KEYS:
            CfnOutput(
                self,
                f"{pascal(key.name)}KeyArn",
                value=self.data.keys[key.name].key_arn,
                description=key.description,
            )
        # Each job's function: `python -m infra.compliance --stack` invokes its job directly,
        # since a scan of every store may outlast the admin route's wait.
        for job, fn in topology.jobs().items():
            CfnOutput(
                self,
                f"{pascal(job)}JobFunctionName",
                value=self.functions.functions[fn.name].function_name,
                description=f"The function of the {job} job (Lambda invoke with its event)",
            )
        CfnOutput(
            self,
            "EmailSender",
            value=self.email.sender,
            description="From address of customer emails; verify it (or its domain) in SES",
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarms.topic.topic_arn,
            description="Subscribe operators here (or deploy with -c alarmEmail=...)",
        )
