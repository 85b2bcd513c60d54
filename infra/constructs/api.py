"""The HTTP API: one route per topology Route, each integrated with its function."""

from __future__ import annotations

import json
from collections.abc import Mapping

import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import topology
from infra.constructs.nag import acknowledge
from infra.constructs.naming import pascal

THROTTLE = apigwv2.ThrottleSettings(rate_limit=100, burst_limit=200)
# Variables valid for HTTP APIs (not REST's standard set, which HTTP APIs reject).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)
# Why a route has no API Gateway authorizer, by the route's declared authentication.
NO_AUTHORIZER_REASON: Mapping[topology.Auth, str] = {
    "api_key": (
        "The function authenticates the API key itself (kernel auth): the contract needs 401 "
        "for an unknown key and revocation that takes effect at once, while an HTTP API "
        "Lambda authorizer answers 403 and caches its decision."
    ),
    "stripe_signature": (
        "Stripe cannot send credentials; the function verifies the Stripe-Signature HMAC "
        "over the raw body and stores nothing for a bad signature."
    ),
    "none": (
        "Public by design (health check, API docs, OpenAPI document, the dashboard page that "
        "asks for an API key and sends it to the /v1 routes): no data behind it."
    ),
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


class Api(Construct):
    """``api`` with a throttled ``$default`` stage that writes KMS-encrypted access logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self, "HttpApi", description="CognitionOS HTTP API", create_default_stage=False
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, encryption_key=key
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=THROTTLE,
            access_log_settings=_AccessLogs(access_logs),
        )
        integrations_by_function: dict[str, integrations.HttpLambdaIntegration] = {}
        for route, fn in topology.routes():
            if fn.name not in integrations_by_function:
                integrations_by_function[fn.name] = integrations.HttpLambdaIntegration(
                    f"{pascal(fn.name)}Integration",
                    functions[fn.name],
                    payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
                )
            http_route = apigwv2.HttpRoute(
                self,
                f"{route.method}{pascal(route.path)}",
                http_api=self.api,
                route_key=apigwv2.HttpRouteKey.with_(route.path, apigwv2.HttpMethod(route.method)),
                integration=integrations_by_function[fn.name],
            )
            acknowledge(http_route, "AwsSolutions-APIG4", NO_AUTHORIZER_REASON[route.auth])

    @property
    def url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self.api.api_endpoint
