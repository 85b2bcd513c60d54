"""Where functions that run code they did not write are placed (topology ``isolated``): a
VPC of isolated subnets only. No internet gateway, no NAT gateway, no VPC endpoint, and a
security group with no rule at all, so nothing inside can reach anything: not the internet,
not an AWS API, not another function. Flow logs record every attempt.

A VPC, its subnets, route tables, security group and flow logs cost nothing by the hour;
the function's network interfaces (Hyperplane ENIs) are free too.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.networks import flow_logged_vpc


class IsolatedNetwork(Construct):
    """``vpc``, its ``subnets`` selection and the rule-less ``security_group``."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.vpc = flow_logged_vpc(
            self,
            key=key,
            nat_gateways=0,
            subnets=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            restrict_default_security_group=False,  # a custom resource (a Lambda) otherwise
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.security_group = ec2.SecurityGroup(
            self,
            "NoTraffic",
            vpc=self.vpc,
            description="Functions that run submitted code: no traffic in or out",
            allow_all_outbound=False,
        )
