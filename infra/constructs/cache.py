"""The alerts cache, only with ``-c alertsCache=true``: an ElastiCache Serverless (Valkey)
cache in a VPC of its own, for the alert channels' rate limits.

Only the functions the topology marks ``uses_cache`` are placed in the VPC (its private
subnets, behind one NAT gateway: they still post to Slack, PagerDuty and webhooks, and call
DynamoDB, SQS, KMS and SES); every other function stays outside. The cache accepts TLS
connections from their security group alone, on its port. Off by default: a VPC's NAT gateway
and the cache's minimum are billed by the hour (docs/ALERTS.md).
"""

from __future__ import annotations

from aws_cdk import Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.networks import flow_logged_vpc

VALKEY_PORT = 6379


class AlertsCache(Construct):
    """``vpc``, ``functions_security_group`` (for the functions placed in it) and ``url``."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.vpc = flow_logged_vpc(
            self,
            key=key,
            nat_gateways=1,
            subnets=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="functions",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=24,
                ),
            ],
        )
        self.functions_security_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="CognitionOS functions that use the alerts cache",
            allow_all_outbound=True,  # channels are anywhere on the internet (SSRF-checked)
        )
        cache_group = ec2.SecurityGroup(
            self,
            "CacheAccess",
            vpc=self.vpc,
            description="The alerts cache: TLS from the functions security group only",
            allow_all_outbound=False,
        )
        cache_group.add_ingress_rule(
            self.functions_security_group,
            ec2.Port.tcp(VALKEY_PORT),
            "Valkey (TLS) from the functions that use the cache",
        )
        subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            # Unique per account and region, as the stack's name is; at most 40 characters.
            serverless_cache_name=f"{Stack.of(self).stack_name.lower()[:33]}-alerts",
            description="CognitionOS alert channels' rate limits",
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[cache_group.security_group_id],
        )
        self.url = Fn.join(
            "", ["rediss://", self.cache.attr_endpoint_address, ":", self.cache.attr_endpoint_port]
        )
