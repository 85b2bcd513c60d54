"""`python -m infra.admin_key` creates a working key from a deployed stack's outputs."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import Aws


def test_the_cli_prints_a_key_that_authenticates(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    from cognitionos.http import api_key_store
    from infra.admin_key import main

    template = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiKeysTableName": {"Value": aws.env["API_KEYS_TABLE"]},
            "ApiKeyPepperSecretArn": {"Value": aws.env["API_KEY_PEPPER_SECRET_ID"]},
        },
    }
    boto3.client("cloudformation").create_stack(
        StackName="CognitionOS", TemplateBody=json.dumps(template)
    )

    assert main(["--stack", "CognitionOS", "--name", "ops", "--scopes", "billing:read"]) == 0

    key = capsys.readouterr().out.strip()
    principal = api_key_store().authenticate(key)
    assert principal.scopes == frozenset({"billing:read"})


def test_a_stack_without_the_outputs_is_reported(aws: Aws) -> None:
    from infra.admin_key import main

    template = {"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}}}
    boto3.client("cloudformation").create_stack(StackName="Old", TemplateBody=json.dumps(template))
    assert main(["--stack", "Old", "--name", "x"]) == 2
