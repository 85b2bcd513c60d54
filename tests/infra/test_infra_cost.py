"""What the stack costs at rest (no traffic), computed from the synthesized template, and the
README states exactly that figure.

Only resources with a fixed monthly price cost anything at rest. Every other resource type in
the template must be one that AWS bills by use or by storage only, so a new kind of resource
fails here until it is priced below or listed as such.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from infra_synth import ROOT, Synth

pytestmark = pytest.mark.xdist_group("infra")

# us-east-1 list prices in USD a month, before any free tier.
# AWS KMS, https://aws.amazon.com/kms/pricing/: $1 per customer-managed key; automatic
# rotation adds $1 for each of the key's first two rotations (later ones cost nothing).
KMS_KEY = Decimal("1.00")
KMS_ROTATION = Decimal("1.00")
KMS_BILLED_ROTATIONS = 2
# AWS Secrets Manager, https://aws.amazon.com/secrets-manager/pricing/: $0.40 per secret.
SECRET = Decimal("0.40")
# Amazon CloudWatch, https://aws.amazon.com/cloudwatch/pricing/: $0.10 per alarm metric at
# standard resolution (a period of 60 s or more), $0.30 at high resolution.
ALARM_METRIC = Decimal("0.10")
HIGH_RESOLUTION_ALARM_METRIC = Decimal("0.30")
STANDARD_RESOLUTION_S = 60

# No charge at rest: billed per request, invocation, message or GB stored (near-empty
# tables' point-in-time recovery, log storage, an empty bucket: cents), or free.
USE_OR_STORAGE_ONLY = frozenset(
    {
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Stage",
        "AWS::CDK::Metadata",
        "AWS::DynamoDB::Table",  # on demand: checked below
        "AWS::IAM::Role",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::SES::Template",
        "AWS::SNS::Subscription",  # with -c alarmEmail=...
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::Scheduler::Schedule",
        # The isolated network of code-validate: no NAT gateway, no endpoint, no internet
        # gateway; a VPC, its subnets, routes and security groups are free, flow logs are
        # billed by the data they record, and the flow logs role's policy is IAM.
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::FlowLog",
        "AWS::IAM::Policy",
    }
)
FIXED_PRICE = frozenset({"AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm"})


def alarm_cost(props: dict[str, Any]) -> Decimal:
    """One alarm: each metric it watches, at its resolution (metric math is not a metric)."""
    if "MetricName" in props:
        periods = [props["Period"]]
    else:
        periods = [m["MetricStat"]["Period"] for m in props["Metrics"] if "MetricStat" in m]
    return sum(
        (
            ALARM_METRIC if period >= STANDARD_RESOLUTION_S else HIGH_RESOLUTION_ALARM_METRIC
            for period in periods
        ),
        Decimal(0),
    )


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_only_priced_resources_cost_anything_at_rest(synth: Synth) -> None:
    kinds = {resource["Type"] for resource in synth.resources.values()}
    assert kinds - FIXED_PRICE - USE_OR_STORAGE_ONLY == set()
    tables = synth.of_type("AWS::DynamoDB::Table").values()
    # Provisioned capacity would be billed by the hour, traffic or not.
    assert {table["Properties"]["BillingMode"] for table in tables} == {"PAY_PER_REQUEST"}


def test_the_readme_states_the_cost_at_rest_of_the_synthesized_stack(synth: Synth) -> None:
    keys = synth.of_type("AWS::KMS::Key").values()
    rotating = sum(1 for key in keys if key["Properties"].get("EnableKeyRotation"))
    secrets = len(synth.of_type("AWS::SecretsManager::Secret"))
    alarms = [alarm["Properties"] for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()]

    keys_cost = KMS_KEY * len(keys)
    secrets_cost = SECRET * secrets
    alarms_cost = sum((alarm_cost(alarm) for alarm in alarms), Decimal(0))
    first_year = keys_cost + secrets_cost + alarms_cost
    second_year = first_year + KMS_ROTATION * rotating
    from_third_year = first_year + KMS_ROTATION * rotating * KMS_BILLED_ROTATIONS

    readme = one_line((ROOT / "README.md").read_text())
    breakdown = (
        f"{counted(len(keys), 'KMS customer-managed key')} ${keys_cost:.2f}/month, "
        f"{counted(secrets, 'Secrets Manager secret')} ${secrets_cost:.2f}/month, "
        f"{counted(len(alarms), 'CloudWatch alarm')} ${alarms_cost:.2f}/month"
    )
    assert breakdown in readme
    assert f"About **${first_year:.2f} a month** in the first year" in readme
    assert (
        f"about ${second_year:.2f} in the second year and ${from_third_year:.2f} from the third"
    ) in readme
