"""HTTP API, schedules, outputs and the cdk-nag gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from infra_synth import Synth, refs, render, synthesize

from infra import topology
from infra.constructs.naming import pascal

pytestmark = pytest.mark.xdist_group("infra")


def test_every_topology_route_and_no_other(synth: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {route.route_key for route, _ in topology.routes()}


@pytest.mark.parametrize(
    ("route", "fn"), topology.routes(), ids=lambda v: getattr(v, "route_key", "")
)
def test_a_route_invokes_its_function_with_payload_v2(
    synth: Synth, route: topology.Route, fn: topology.Function
) -> None:
    (props,) = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == route.route_key
    ]
    assert props.get("AuthorizationType", "NONE") == "NONE"  # checked in the function
    (integration_id,) = refs(props["Target"])
    integration = synth.resources[integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert refs(integration["IntegrationUri"]) == {
        synth.id(synth.stack.functions.functions[fn.name])
    }


def test_the_default_stage_is_throttled_and_logs_access(synth: Synth) -> None:
    (stage,) = [s["Properties"] for s in synth.of_type("AWS::ApiGatewayV2::Stage").values()]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 200,
        "ThrottlingRateLimit": 100,
    }
    (group,) = refs(stage["AccessLogSettings"]["DestinationArn"])
    assert refs(synth.resources[group]["Properties"]["KmsKeyId"]) == {
        synth.id(synth.stack.data.key)
    }
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]


SCHEDULED = [f for f in topology.FUNCTIONS if f.schedule]


@pytest.mark.parametrize("fn", SCHEDULED, ids=lambda f: f.name)
def test_a_scheduled_job_fires_with_its_job_name(synth: Synth, fn: topology.Function) -> None:
    assert fn.schedule is not None
    props = synth.props(synth.stack.schedules.schedules[fn.name])
    assert props["ScheduleExpression"] == fn.schedule.expression
    assert props["ScheduleExpressionTimezone"] == "UTC"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    assert refs(target["Arn"]) == {synth.id(synth.stack.functions.functions[fn.name])}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert refs(target["DeadLetterConfig"]["Arn"]) == {synth.id(synth.stack.schedules.dead_letters)}
    event = json.loads(render(target["Input"]))
    assert event == {
        "version": "0",
        "id": "<aws.scheduler.execution-id>",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "<AWS::AccountId>",
        "time": "<aws.scheduler.scheduled-time>",
        "region": "<AWS::Region>",
        "resources": ["<aws.scheduler.schedule-arn>"],
        "detail": {"job": fn.job},
    }


def test_only_scheduled_functions_have_schedules(synth: Synth) -> None:
    assert len(synth.of_type("AWS::Scheduler::Schedule")) == len(SCHEDULED)


@pytest.mark.parametrize("fn", SCHEDULED, ids=lambda f: f.name)
def test_a_schedule_role_may_invoke_only_its_job(synth: Synth, fn: topology.Function) -> None:
    props = synth.props(synth.stack.schedules.schedules[fn.name])
    (role_id,) = refs(props["Target"]["RoleArn"])
    role = synth.resources[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    invoke = [
        s
        for policy in role["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    assert [refs(s["Resource"]) for s in invoke] == [
        {synth.id(synth.stack.functions.functions[fn.name])}
    ]


def test_outputs_tell_the_operator_what_to_do(synth: Synth) -> None:
    outputs = synth.template_json["Outputs"]
    api = f"<{synth.id(synth.stack.api.api)}.ApiEndpoint>"
    assert render(outputs["ApiUrl"]["Value"]) == api
    assert render(outputs["WebhookUrl"]["Value"]) == f"{api}/webhooks/stripe"
    assert refs(outputs["AlarmTopicArn"]["Value"]) == {synth.id(synth.stack.alarms.topic)}
    for secret in topology.SECRETS:
        output = outputs[pascal(secret.name) + "SecretArn"]
        assert refs(output["Value"]) == {synth.id(synth.stack.secrets.secrets[secret.name])}
        operator_sets = "Operator sets this" in output["Description"]
        assert operator_sets is (not secret.generated)
    assert {"StripeWebhookSecretArn", "StripeApiKeySecretArn"} <= set(outputs)
    for table in topology.TABLES:  # infra.admin_key reads ApiKeysTableName
        value = outputs[pascal(table.name) + "TableName"]["Value"]
        assert refs(value) == {synth.id(synth.stack.data.tables[table.name])}
    assert {"ApiKeysTableName", "ApiKeyPepperSecretArn"} <= set(outputs)
    assert "set the operator-managed secrets" in synth.template_json["Description"]


def test_an_unacknowledged_nag_finding_fails_synthesis() -> None:
    # The gate every other test relies on: cdk-nag findings raise from Template.from_stack.
    app = App()
    stack = Stack(app, "Bare")
    sqs.Queue(stack, "Unencrypted")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        Template.from_stack(stack)


def test_tracing_flag_turns_on_active_tracing_with_xray_rights(tmp_path: Path) -> None:
    traced = synthesize(tmp_path, tracing="true", alarmEmail="ops@example.com")
    for fn in topology.FUNCTIONS:
        function = traced.stack.functions.functions[fn.name]
        assert traced.props(function)["TracingConfig"] == {"Mode": "Active"}
        policy = traced.props(traced.stack.functions.roles[fn.name])["Policies"][0]
        (xray,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "SendTraces"]
        assert xray["Resource"] == "*"
    subscriptions = [s["Properties"] for s in traced.of_type("AWS::SNS::Subscription").values()]
    (email,) = [s for s in subscriptions if s["Protocol"] == "email"]
    assert email["Endpoint"] == "ops@example.com"
