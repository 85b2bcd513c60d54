"""Each store's settings against what the topology declares: a drift is a setting finding."""

from __future__ import annotations

import json

from privacy.logic.storage_settings import (
    BucketExpectation,
    BucketSettings,
    Expectations,
    TableExpectation,
    TableSettings,
    bucket_findings,
    lifecycle_expiration_days,
    table_findings,
)

from infra import topology

GOOD_TABLE = TableSettings(True, "KMS", "ENABLED", "expires_at")
GOOD_BUCKET = BucketSettings("aws:kms", 7, None, None, None)


def paths(findings: list) -> list[str]:  # type: ignore[type-arg]
    assert all(f.kind == "setting" and f.key == "" for f in findings)
    return [f.path for f in findings]


def test_a_table_as_declared_gives_nothing() -> None:
    assert table_findings("privacy", TableExpectation("expires_at"), GOOD_TABLE) == []
    no_ttl = TableSettings(True, "KMS", "DISABLED", None)
    assert table_findings("revenue", TableExpectation(None), no_ttl) == []


def test_a_table_without_pitr_kms_or_its_ttl_gives_one_finding_each() -> None:
    drifted = TableSettings(False, None, "DISABLED", None)
    findings = table_findings("billing", TableExpectation("expires_at"), drifted)
    assert paths(findings) == ["PointInTimeRecovery", "SSEDescription.SSEType", "TimeToLive"]
    assert findings[0].store == "table:billing"
    assert findings[2].sample == "found disabled, declared on expires_at"


def test_ttl_on_another_attribute_or_on_a_table_that_declares_none_is_a_finding() -> None:
    other = TableSettings(True, "KMS", "ENABLED", "ttl")
    assert paths(table_findings("t", TableExpectation("expires_at"), other)) == ["TimeToLive"]
    assert paths(table_findings("t", TableExpectation(None), other)) == ["TimeToLive"]


def test_a_bucket_as_declared_gives_nothing_and_a_locked_one_keeps_versions() -> None:
    assert bucket_findings("exports", BucketExpectation(7, None), GOOD_BUCKET) == []
    locked = BucketSettings("aws:kms", 401, "COMPLIANCE", 400, "Enabled")
    assert bucket_findings("anchors", BucketExpectation(401, 400), locked) == []


def test_a_bucket_drift_gives_a_finding_per_setting() -> None:
    plain = BucketSettings("AES256", 30, None, None, "Enabled")
    assert paths(bucket_findings("exports", BucketExpectation(7, None), plain)) == [
        "Encryption",
        "Lifecycle.Expiration",
        "Versioning",
    ]
    governance = BucketSettings("aws:kms", 401, "GOVERNANCE", 400, "Enabled")
    (finding,) = bucket_findings("anchors", BucketExpectation(401, 400), governance)
    assert (finding.path, finding.sample) == (
        "ObjectLock",
        "found GOVERNANCE 400 days, declared COMPLIANCE 400 days",
    )


def test_only_an_enabled_rule_over_the_whole_bucket_counts_as_its_expiry() -> None:
    rules = [
        {"Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}},
        {"Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 2}},
        {"Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7}},
    ]
    assert lifecycle_expiration_days(rules) == 7
    assert lifecycle_expiration_days(rules[:2]) is None


def test_the_expectations_are_the_topologys_for_every_table_and_bucket() -> None:
    env = topology.function("privacy-compliance").static_env()
    expected = Expectations.from_json(env[topology.COMPLIANCE_EXPECTATIONS_ENV])
    assert expected.tables == {t.name: TableExpectation(t.ttl_attribute) for t in topology.TABLES}
    assert expected.buckets == {
        b.name: BucketExpectation(b.expire_after_days, b.object_lock_days) for b in topology.BUCKETS
    }
    assert len(json.dumps(env)) < 1500  # Lambda's environment is 4 KB in all
