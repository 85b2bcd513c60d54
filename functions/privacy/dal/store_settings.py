"""What DynamoDB and S3 say of each store's settings (the compliance checker's reads).

One call per setting: DescribeTable (SSE), DescribeContinuousBackups (PITR),
DescribeTimeToLive; GetBucketEncryption, GetBucketLifecycleConfiguration,
GetObjectLockConfiguration, GetBucketVersioning. A setting that was never configured comes
back as its absence (S3 answers with an error code), not as a failure.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from cognitionos.aws import client
from privacy.logic.storage_settings import (
    BucketSettings,
    TableSettings,
    lifecycle_expiration_days,
)

# S3's answers for a bucket that has no such configuration at all.
NOT_CONFIGURED = frozenset(
    {
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchLifecycleConfiguration",
        "ObjectLockConfigurationNotFoundError",
    }
)


def table_settings(physical: str) -> TableSettings:
    dynamodb = client("dynamodb")
    sse = dynamodb.describe_table(TableName=physical)["Table"].get("SSEDescription") or {}
    backups = dynamodb.describe_continuous_backups(TableName=physical)
    pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    ttl = dynamodb.describe_time_to_live(TableName=physical)["TimeToLiveDescription"]
    return TableSettings(
        point_in_time_recovery=pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        sse_type=sse.get("SSEType") if sse.get("Status") in ("ENABLED", "UPDATING") else None,
        ttl_status=str(ttl.get("TimeToLiveStatus", "DISABLED")),
        ttl_attribute=ttl.get("AttributeName"),
    )


def bucket_settings(physical: str) -> BucketSettings:
    s3 = client("s3")
    encryption = _configured(lambda: s3.get_bucket_encryption(Bucket=physical))
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    lifecycle = _configured(lambda: s3.get_bucket_lifecycle_configuration(Bucket=physical))
    lock = _configured(lambda: s3.get_object_lock_configuration(Bucket=physical))
    config = (lock or {}).get("ObjectLockConfiguration", {})
    retention = config.get("Rule", {}).get("DefaultRetention", {})
    locked = config.get("ObjectLockEnabled") == "Enabled"
    versioning = s3.get_bucket_versioning(Bucket=physical).get("Status")
    return BucketSettings(
        sse_algorithm=default.get("SSEAlgorithm"),
        expiration_days=lifecycle_expiration_days((lifecycle or {}).get("Rules", [])),
        object_lock_mode=retention.get("Mode") if locked else None,
        object_lock_days=int(retention["Days"]) if locked and "Days" in retention else None,
        versioning=versioning,
    )


def _configured(call: Any) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in NOT_CONFIGURED:
            return None
        raise
    return answer
