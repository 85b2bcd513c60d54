"""Lambda functions from the topology: code, layers, log group, environment, role, triggers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from aws_cdk import CfnResource, Duration, Stack, Stage, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import topology
from infra.constructs import policies
from infra.constructs.cache import AlertsCache
from infra.constructs.email import Email
from infra.constructs.function_code import stage_context
from infra.constructs.isolated_network import IsolatedNetwork
from infra.constructs.layers import ARCHITECTURE, RUNTIME, Layers
from infra.constructs.nag import acknowledge
from infra.constructs.naming import pascal
from infra.constructs.policies import Resources

# Lambda's guidance: a queue's visibility timeout of at least six times the consumer's timeout.
VISIBILITY_FACTOR = 6
# Where each context's code is staged before CDK copies it into its asset.<hash> directory:
# inside the cloud assembly, which outlives synth (with staging off, `cdk synth --no-staging`
# for SAM, the template points at this directory itself).
STAGING_DIR = "function-code"


class Functions(Construct):
    """``functions`` / ``roles`` / ``policies`` map topology function name -> resource."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: Resources,
        layers: Layers,
        settings: Mapping[str, str],
        tracing: bool,
        cache: AlertsCache | None = None,
        isolated_network: IsolatedNetwork | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._cache = cache  # with -c alertsCache=true: its functions go in its VPC
        self._isolated = isolated_network  # for the functions that run submitted code
        self._resources = resources
        self._settings = settings  # Setting env var -> this deployment's checked value
        self._layers = layers
        self._tracing = tracing
        self._code: dict[str, lambda_.Code] = {}
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.policies: dict[str, iam.PolicyDocument] = {}
        for fn in topology.FUNCTIONS:
            self._build(fn)
        # Second pass: a function that runs jobs needs the job functions to exist first.
        jobs = {job: self.functions[target.name] for job, target in topology.jobs().items()}
        for fn in topology.FUNCTIONS:
            if fn.invokes:
                self.policies[fn.name].add_statements(policies.invoke(fn, jobs))
                names = {job: jobs[job].function_name for job in fn.invokes}
                self.functions[fn.name].add_environment(
                    "JOB_FUNCTIONS", Stack.of(self).to_json_string(names)
                )
        validator = self.functions.get(topology.CODE_VALIDATE)
        for fn in topology.FUNCTIONS:
            if fn.validates_code:
                if validator is None:
                    raise ValueError(f"{fn.name} validates code but there is no validator")
                self.policies[fn.name].add_statements(policies.invoke_validator(validator))
                self.functions[fn.name].add_environment(
                    topology.CODE_VALIDATE_ENV, validator.function_name
                )

    def _build(self, fn: topology.Function) -> None:
        name = pascal(fn.name)
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=self._resources.key,
        )
        document = iam.PolicyDocument(
            statements=policies.statements(fn, self._resources, log_group)
        )
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{fn.name}: only what infra/topology.py declares",
            inline_policies={"topology": document},
        )
        for access in fn.buckets:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{self._logical_id(access.bucket)}.Arn>/*]",
                f"Objects are named at run time (a Stripe event id): {', '.join(access.actions)} "
                f"on the objects of the one bucket {access.bucket.name}, and no bucket action.",
            )
        if fn.calls_models:
            stack = Stack.of(role)
            region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
            account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
            for resource in (
                "Resource::arn:aws:bedrock:*::foundation-model/*",
                f"Resource::arn:aws:bedrock:{region}:{account}:inference-profile/*",
            ):
                acknowledge(
                    role,
                    f"AwsSolutions-IAM5[{resource}]",
                    "The model is chosen per deployment (-c llmModel) and a cross-region "
                    "inference profile routes to its model in several regions: only "
                    "bedrock:InvokeModel, on foundation models and this account's profiles.",
                )
        in_cache_vpc = self._cache is not None and fn.uses_cache
        if fn.isolated:
            document.add_statements(policies.vpc_access())
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "Lambda creates the network interfaces of a function in a VPC with the "
                "function's role, and the EC2 actions for them have no resource-level "
                "permissions. The function sits in isolated subnets with no route to the "
                "EC2 API (no NAT, no endpoints), and its sandboxed code has no credentials.",
            )
        if in_cache_vpc:
            document.add_statements(policies.vpc_access())
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "Only with -c alertsCache=true, for the functions in the cache's VPC: the EC2 "
                "network-interface actions Lambda needs there have no resource-level "
                "permissions.",
            )
        if self._tracing:
            document.add_statements(policies.tracing())
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "Only with -c tracing=true: xray:PutTraceSegments and PutTelemetryRecords "
                "have no resource-level permissions, so X-Ray documents Resource '*'.",
            )
        function = lambda_.Function(
            self,
            name,
            description=fn.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=fn.handler,
            code=self._context_code(fn.context),
            layers=self._layers.of(fn),
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_s),
            log_group=log_group,
            # Immutable: CDK's own grants (event sources, tracing) would add statements the
            # topology does not declare; policies.statements already covers them.
            role=role.without_policy_updates(),
            environment=self._environment(fn),
            tracing=lambda_.Tracing.ACTIVE if self._tracing else lambda_.Tracing.DISABLED,
            reserved_concurrent_executions=fn.reserved_concurrency,
            **self._network(fn),
        )
        # lambda.Function always adds DependsOn on its role although Role: GetAtt already
        # orders them; cfn-lint warns (W3005) about exactly that redundancy.
        cfn_function = cast(CfnResource, function.node.default_child)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        if fn.consumes:
            function.add_event_source(self._event_source(fn, fn.consumes))
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"The topology pins {topology.RUNTIME}: the dependency layer is built for it "
            "(pip --python-version) and moving runtimes is a deliberate, tested change.",
        )
        self.functions[fn.name] = function
        self.roles[fn.name] = role
        self.policies[fn.name] = document

    def _network(self, fn: topology.Function) -> dict[str, Any]:
        """The isolated subnets for a function that runs submitted code; the cache's VPC for
        a function that uses it, when the stack has one; else none."""
        if fn.isolated:
            if self._isolated is None:
                raise ValueError(f"{fn.name} is isolated but the stack has no isolated network")
            return {
                "vpc": self._isolated.vpc,
                "vpc_subnets": self._isolated.subnets,
                "security_groups": [self._isolated.security_group],
                "allow_public_subnet": False,
            }
        if self._cache is None or not fn.uses_cache:
            return {}
        return {
            "vpc": self._cache.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            "security_groups": [self._cache.functions_security_group],
        }

    def _logical_id(self, bucket: topology.Bucket) -> str:
        resource = self._resources.buckets[bucket.name].node.default_child
        return Stack.of(self).get_logical_id(cast(CfnResource, resource))

    def _context_code(self, context: str) -> lambda_.Code:
        if context not in self._code:
            stage = Stage.of(self)
            if stage is None:
                raise ValueError("the functions must be built inside a CDK app")
            staged = stage_context(context, Path(stage.outdir) / STAGING_DIR / context)
            self._code[context] = lambda_.Code.from_asset(str(staged))
        return self._code[context]

    def _environment(self, fn: topology.Function) -> dict[str, str]:
        env = dict(fn.static_env())
        env["POWERTOOLS_TRACE_DISABLED"] = "false" if self._tracing else "true"
        for var, resource in fn.resource_env().items():
            if isinstance(resource, topology.Table):
                env[var] = self._resources.tables[resource.name].table_name
            elif isinstance(resource, topology.Queue):
                env[var] = self._resources.queues[resource.name].queue_url
            elif isinstance(resource, topology.Key):
                if resource.during_rotation and resource.name not in self._resources.keys:
                    continue  # no rotation under way: no previous key
                env[var] = self._resources.keys[resource.name].key_arn
            elif isinstance(resource, topology.EmailTemplate):
                env[var] = self._email().templates[resource.name].ref
            elif isinstance(resource, topology.Bucket):
                env[var] = self._resources.buckets[resource.name].bucket_name
            elif isinstance(resource, topology.DeadLetterQueue):
                dlq = self._resources.dead_letter_queues[resource.queue.name]
                env[var] = dlq.queue_url
            else:
                env[var] = self._resources.secrets[resource.name].secret_arn
        if fn.emails:
            env[topology.EMAIL_SENDER_ENV] = self._email().sender
        for setting in fn.settings:
            env[setting.env] = self._settings[setting.env]
        if self._cache is not None and fn.uses_cache:
            env[topology.REDIS_URL.env] = self._cache.url  # the stack's cache wins
        return env

    def _email(self) -> Email:
        if self._resources.email is None:
            raise ValueError("a function sends email but the stack has no Email construct")
        return self._resources.email

    def _event_source(
        self, fn: topology.Function, queue: topology.Queue
    ) -> event_sources.SqsEventSource:
        if queue.visibility_timeout_s < VISIBILITY_FACTOR * fn.timeout_s:
            raise ValueError(
                f"{queue.name}: visibility timeout {queue.visibility_timeout_s}s is below "
                f"{VISIBILITY_FACTOR}x the {fn.name} timeout ({fn.timeout_s}s)"
            )
        window = queue.max_batching_window_s
        return event_sources.SqsEventSource(
            self._resources.queues[queue.name],
            batch_size=queue.batch_size,
            report_batch_item_failures=True,
            # FIFO event sources reject a batching window.
            max_batching_window=Duration.seconds(window) if window and not queue.fifo else None,
        )
