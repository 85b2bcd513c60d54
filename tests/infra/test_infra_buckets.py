"""S3 buckets: private, TLS only, encrypted with the stack key, expiring; exact object grants."""

from __future__ import annotations

from typing import Any

import pytest
from infra_synth import Synth, refs, render
from test_infra_permissions import as_list, role_id, statements

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")

SQS_DEFAULT_RETENTION_S = 4 * 24 * 3600  # what a queue keeps a message when the stack says nothing
# The specification, written out here rather than derived from the topology.
# The privacy functions that look for personal data in every store read every object
# (erasure verification, the compliance checker); their bucket-level grants (listing,
# settings) are on the bucket, not its objects (tests/infra/test_infra_permissions.py).
SCANNERS = {"privacy-worker": {"s3:GetObject"}, "privacy-compliance": {"s3:GetObject"}}
OBJECT_GRANTS = {
    "billing-ingest": {"s3:PutObject"},
    "billing-reconcile": {"s3:PutObject"},
    "billing-process": {"s3:GetObject", "s3:DeleteObject"},
    **SCANNERS,
    # an erasure also deletes a parked body that names its subject
    "privacy-worker": {"s3:GetObject", "s3:DeleteObject"},
}
# The audit anchors: written by the job, read back for an export; never deleted by anyone.
ANCHOR_GRANTS = {"audit-anchor": {"s3:PutObject"}, "audit-api": {"s3:GetObject"}, **SCANNERS}
# Article 15 exports: written by the worker (and deleted when their subject is erased), read
# back to sign a download URL.
EXPORT_GRANTS = {
    "privacy-api": {"s3:GetObject"},
    **SCANNERS,
    "privacy-worker": {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
}
UNLOCKED = [b for b in topology.BUCKETS if b.object_lock_days is None]


def bucket_resource(synth: Synth, bucket: topology.Bucket) -> dict[str, Any]:
    resource: dict[str, Any] = synth.resources[synth.id(synth.stack.buckets.buckets[bucket.name])]
    return resource


def bucket_arn(synth: Synth, bucket: topology.Bucket) -> str:
    return f"<{synth.id(synth.stack.buckets.buckets[bucket.name])}.Arn>"


def test_the_topology_declares_the_event_bodies_and_audit_anchors_buckets() -> None:
    assert topology.BUCKETS == (
        topology.EVENT_BODIES,
        topology.AUDIT_ANCHORS,
        topology.PRIVACY_EXPORTS,
    )
    assert topology.EVENT_BODIES.env_var == "EVENT_BODIES_BUCKET"
    assert topology.AUDIT_ANCHORS.env_var == "AUDIT_ANCHORS_BUCKET"


def test_the_anchors_bucket_locks_every_version_in_compliance_mode(synth: Synth) -> None:
    props = bucket_resource(synth, topology.AUDIT_ANCHORS)["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}  # Object Lock needs it
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}},
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] > topology.AUDIT_ANCHORS.object_lock_days  # type: ignore[operator]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


@pytest.mark.parametrize("bucket", topology.BUCKETS, ids=lambda b: b.name)
def test_a_bucket_is_encrypted_with_the_stack_key(synth: Synth, bucket: topology.Bucket) -> None:
    props = bucket_resource(synth, bucket)["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert refs(key) == {synth.id(synth.stack.data.key)}
    assert rule["BucketKeyEnabled"] is True


@pytest.mark.parametrize("bucket", UNLOCKED, ids=lambda b: b.name)
def test_a_bucket_blocks_all_public_access_and_is_retained_unversioned(
    synth: Synth, bucket: topology.Bucket
) -> None:
    resource = bucket_resource(synth, bucket)
    props = resource["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in props  # a delete leaves no noncurrent copy
    assert "BucketName" not in props  # CloudFormation names it: two stacks can share an account
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize("bucket", topology.BUCKETS, ids=lambda b: b.name)
def test_a_bucket_refuses_plain_http(synth: Synth, bucket: topology.Bucket) -> None:
    bucket_id = synth.id(synth.stack.buckets.buckets[bucket.name])
    (policy,) = [
        p["Properties"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if refs(p["Properties"]["Bucket"]) == {bucket_id}
    ]
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Action"] == "s3:*"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    arn = bucket_arn(synth, bucket)
    assert {render(r) for r in deny["Resource"]} == {arn, f"{arn}/*"}


@pytest.mark.parametrize("bucket", topology.BUCKETS, ids=lambda b: b.name)
def test_objects_expire_after_the_declared_days(synth: Synth, bucket: topology.Bucket) -> None:
    (rule,) = bucket_resource(synth, bucket)["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == bucket.expire_after_days
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    if bucket.object_lock_days is None:
        assert "NoncurrentVersionExpiration" not in rule
    assert "Prefix" not in rule and "Filter" not in rule  # every object


def test_an_event_body_outlives_every_message_that_can_still_claim_it(synth: Synth) -> None:
    """A claim check waits in billing-events (its retention), then, for a FIFO queue whose
    dead-letter move restarts a message's age, the whole DLQ retention on top."""
    queue = topology.BILLING_EVENTS
    main = synth.props(synth.stack.queues.queues[queue.name])
    dlq = synth.props(synth.stack.queues.dead_letter_queues[queue.name])
    waiting_s = main.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_S)
    longest_s = waiting_s + dlq["MessageRetentionPeriod"]
    assert queue.fifo
    assert topology.EVENT_BODIES.expire_after_days * 24 * 3600 >= longest_s
    assert topology.EVENT_BODIES.expire_after_days == 18


def object_statements(synth: Synth, fn: topology.Function) -> list[dict[str, Any]]:
    """The role's S3 statements on objects (``<bucket ARN>/*``)."""
    return [
        s
        for s in statements(synth, role_id(synth, fn))
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
        and all(render(r).endswith("/*") for r in as_list(s["Resource"]))
    ]


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_role_has_exactly_its_s3_object_actions_on_the_bucket_objects(
    synth: Synth, fn: topology.Function
) -> None:
    found = object_statements(synth, fn)
    expected = [
        (grants[fn.name], bucket)
        for grants, bucket in (
            (OBJECT_GRANTS, topology.EVENT_BODIES),
            (ANCHOR_GRANTS, topology.AUDIT_ANCHORS),
            (EXPORT_GRANTS, topology.PRIVACY_EXPORTS),
        )
        if fn.name in grants
    ]
    assert len(found) == len(expected)
    for statement, (actions, bucket) in zip(found, expected, strict=True):
        assert set(as_list(statement["Action"])) == actions
        assert render(statement["Resource"]) == f"{bucket_arn(synth, bucket)}/*"
        assert "Condition" not in statement


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_functions_declaring_the_bucket_get_its_name(
    synth: Synth, fn: topology.Function
) -> None:
    env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
    if fn.name in OBJECT_GRANTS:
        bucket = synth.stack.buckets.buckets[topology.EVENT_BODIES.name]
        assert env["EVENT_BODIES_BUCKET"] == {"Ref": synth.id(bucket)}
    else:
        assert "EVENT_BODIES_BUCKET" not in env


def test_the_bucket_name_is_a_stack_output(synth: Synth) -> None:
    outputs = synth.template_json["Outputs"]
    bucket = synth.stack.buckets.buckets[topology.EVENT_BODIES.name]
    assert outputs["EventBodiesBucketName"]["Value"] == {"Ref": synth.id(bucket)}
