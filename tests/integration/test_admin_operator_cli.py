"""`python -m infra.admin_operator` creates an operator who can then sign in."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext

PASSWORD = "a long enough passphrase"


def deployed_stack(aws: Aws) -> None:
    outputs = {
        "OperatorsTableName": aws.env["OPERATORS_TABLE"],
        "SubjectKeysTableName": aws.env["SUBJECT_KEYS_TABLE"],
        "PiiKeyArn": aws.env["PII_KEY_ID"],
        "PiiBlindIndexKeySecretArn": aws.env["PII_BLIND_INDEX_KEY_SECRET_ID"],
    }
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(
        StackName="CognitionOS", TemplateBody=json.dumps(template)
    )


def test_the_cli_creates_an_operator_who_signs_in(
    aws: Aws,
    context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from operators.handlers.api import lambda_handler

    from infra.admin_operator import main

    deployed_stack(aws)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))

    assert main(["--email", "Grace@Example.com", "--password-stdin"]) == 0

    operator_id = capsys.readouterr().out.strip()
    body = json.dumps({"email": "grace@example.com", "password": PASSWORD})
    event = http_event(
        "POST", "/auth/sign-in", body=body, headers={"content-type": "application/json"}
    )
    response = lambda_handler(event, context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["operator"]["operator_id"] == operator_id
    stored = json.dumps(aws.table("operators").scan()["Items"], default=str)
    assert "grace@example.com" not in stored.lower() and PASSWORD not in stored


def test_a_short_password_and_a_taken_email_create_nothing(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.admin_operator import main

    deployed_stack(aws)
    monkeypatch.setattr("sys.stdin", io.StringIO("too short\n"))
    assert main(["--email", "ada@example.com", "--password-stdin"]) == 2
    assert aws.table("operators").scan()["Items"] == []

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--email", "ada@example.com", "--password-stdin"]) == 0
    keys_before = aws.table("subject-keys").scan()["Count"]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--email", "ADA@example.com", "--password-stdin"]) == 3
    assert aws.table("operators").scan()["Count"] == 1
    assert aws.table("subject-keys").scan()["Count"] == keys_before
