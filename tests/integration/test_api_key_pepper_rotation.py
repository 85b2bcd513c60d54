"""Rotating the API-key pepper under moto: keys of the old pepper keep working through the
grace period, new keys use the new pepper, and ending the grace period ends the old keys."""

from __future__ import annotations

import secrets

import boto3

from tests.integration.conftest import REGION, Aws, LambdaContext, reset_runtime_caches
from tests.integration.test_platform_api import call


def pepper_secret(aws: Aws) -> str:
    return aws.env["API_KEY_PEPPER_SECRET_ID"]


def rotate_pepper(aws: Aws) -> None:
    """What the runbook's put-secret-value does: the new value becomes AWSCURRENT, the old
    one AWSPREVIOUS."""
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=pepper_secret(aws), SecretString=secrets.token_urlsafe(32)
    )
    reset_runtime_caches()  # past the five minutes of Parameters' cache


def end_grace_period(aws: Aws) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    versions = sm.list_secret_version_ids(SecretId=pepper_secret(aws))["Versions"]
    (old,) = [v["VersionId"] for v in versions if "AWSPREVIOUS" in v.get("VersionStages", [])]
    sm.update_secret_version_stage(
        SecretId=pepper_secret(aws), VersionStage="AWSPREVIOUS", RemoveFromVersionId=old
    )
    reset_runtime_caches()


def status_with(key: str) -> int:
    return call(LambdaContext(), "GET", "/v1/api-keys", key)[0]


def new_key(admin_key: str) -> str:
    status, body = call(
        LambdaContext(), "POST", "/v1/api-keys", admin_key, {"name": "k", "scopes": ["admin"]}
    )
    assert status == 201
    return str(body["key"])


def test_a_key_of_the_old_pepper_works_through_the_grace_period_and_not_after(aws: Aws) -> None:
    old_key = aws.admin_key
    rotate_pepper(aws)
    assert status_with(old_key) == 200  # grace period: AWSPREVIOUS still hashes it
    fresh = new_key(old_key)
    end_grace_period(aws)
    assert status_with(old_key) == 401
    assert status_with(fresh) == 200


def test_keys_made_after_the_rotation_carry_the_new_peppers_id(aws: Aws) -> None:
    from cognitionos.auth import pepper_id

    rotate_pepper(aws)
    fresh = new_key(aws.admin_key)
    current = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=pepper_secret(aws)
    )["SecretString"]
    item = aws.table("api-keys").get_item(Key={"key_id": fresh.split("_")[1]})["Item"]
    assert item["pepper_id"] == pepper_id(current)
    assert current not in str(item) and fresh.split("_", 2)[2] not in str(item)


def test_a_wrong_secret_is_refused_during_the_grace_period(aws: Aws) -> None:
    rotate_pepper(aws)
    wrong = aws.admin_key[:-4] + ("aaaa" if not aws.admin_key.endswith("aaaa") else "bbbb")
    assert status_with(wrong) == 401


def test_a_key_stored_before_peppers_had_ids_still_works_through_a_rotation(aws: Aws) -> None:
    key_id = aws.admin_key.split("_")[1]
    aws.table("api-keys").update_item(Key={"key_id": key_id}, UpdateExpression="REMOVE pepper_id")
    assert status_with(aws.admin_key) == 200
    rotate_pepper(aws)
    assert status_with(aws.admin_key) == 200
    end_grace_period(aws)
    assert status_with(aws.admin_key) == 401


def test_without_a_rotation_a_key_of_another_pepper_is_unknown(aws: Aws) -> None:
    from cognitionos.auth import hash_secret

    key_id = aws.admin_key.split("_")[1]
    secret = aws.admin_key.split("_", 2)[2]
    aws.table("api-keys").update_item(
        Key={"key_id": key_id},
        UpdateExpression="SET secret_hash = :h, pepper_id = :p",
        ExpressionAttributeValues={":h": hash_secret("another", secret), ":p": "0123456789abcdef"},
    )
    assert status_with(aws.admin_key) == 401


def test_the_absence_of_a_previous_pepper_is_asked_once_per_five_minutes(aws: Aws) -> None:
    from cognitionos.http import previous_pepper
    from tests.aws_calls import count_aws_calls

    with count_aws_calls() as calls:
        assert previous_pepper(pepper_secret(aws)) is None
        assert previous_pepper(pepper_secret(aws)) is None
    assert calls["secretsmanager.GetSecretValue"] == 1


def test_an_environment_that_still_holds_the_old_pepper_accepts_a_key_of_the_new(
    aws: Aws,
) -> None:
    """Right after a rotation one environment may hash with the new pepper while another
    still has the old one cached: a key the first made works in the second at once."""
    from cognitionos.auth import ApiKeyStore

    assert status_with(aws.admin_key) == 200  # this environment caches the old pepper
    new_pepper = secrets.token_urlsafe(32)
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=pepper_secret(aws), SecretString=new_pepper
    )  # no cache reset: this environment is warm
    issued, _ = ApiKeyStore(aws.table("api-keys"), new_pepper).create(
        "made elsewhere", ["admin"], None, "2026-01-01T00:00:00Z"
    )
    assert status_with(issued.key) == 200
    assert status_with(aws.admin_key) == 200
