"""S3 buckets from the topology: private, TLS only, encrypted with the stack key, expiring."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import topology
from infra.constructs.nag import acknowledge
from infra.constructs.naming import pascal

NO_ACCESS_LOGS_REASON = (
    "Server access logs would need a second bucket, which S3 log delivery cannot encrypt with "
    "a KMS key. Only the function roles the topology names may touch these objects; an event "
    "body is named after the Stripe event it carries and its functions log that id, an audit "
    "anchor is named after its chain and seq and is locked against every change; enable "
    "CloudTrail S3 data events for a trail beyond that."
)


class Buckets(Construct):
    """``buckets`` maps topology bucket name -> Bucket.

    Names are left to CloudFormation (bucket names are global). Retained with the stack, as
    the tables are; the lifecycle rule empties a bucket left behind within its expiry.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.buckets = {bucket.name: self._bucket(bucket, key) for bucket in topology.BUCKETS}

    def _bucket(self, bucket: topology.Bucket, key: kms.IKey) -> s3.Bucket:
        locked = bucket.object_lock_days is not None
        resource = s3.Bucket(
            self,
            pascal(bucket.name),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one KMS data key per bucket and period, not per object
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # A delete must delete: no noncurrent copies of personal data. Object Lock needs
            # versions; a locked bucket holds no personal data (audit anchors: seqs, hashes).
            versioned=locked,
            object_lock_enabled=locked or None,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(bucket.object_lock_days)
            )
            if bucket.object_lock_days is not None
            else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-objects",
                    expiration=Duration.days(bucket.expire_after_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    # A locked bucket's expired versions become noncurrent: gone a day later.
                    noncurrent_version_expiration=Duration.days(1) if locked else None,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(resource, "AwsSolutions-S1", NO_ACCESS_LOGS_REASON)
        return resource
