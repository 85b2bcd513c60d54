"""The VPCs the stack makes (the isolated network, the alerts cache): two AZs, every flow
logged to an encrypted log group kept a month (cdk-nag AwsSolutions-VPC7)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def flow_logged_vpc(
    scope: Construct,
    *,
    key: kms.IKey,
    nat_gateways: int,
    subnets: list[ec2.SubnetConfiguration],
    **options: Any,
) -> ec2.Vpc:
    """``scope``'s ``Vpc`` (and its ``FlowLogs`` group); ``options`` go to ``ec2.Vpc``."""
    flow_logs = logs.LogGroup(
        scope,
        "FlowLogs",
        retention=logs.RetentionDays.ONE_MONTH,
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return ec2.Vpc(
        scope,
        "Vpc",
        max_azs=2,
        nat_gateways=nat_gateways,
        subnet_configuration=subnets,
        flow_logs={
            "all": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
            )
        },
        **options,
    )
