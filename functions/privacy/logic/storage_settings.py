"""Each store's settings against what the topology declares for it.

The expectations come from the topology (``COMPLIANCE_EXPECTATIONS``, built by
``infra/topology.py`` from the tables and buckets the checker scans), not from a second copy
here: every table has point-in-time recovery and KMS encryption, and TTL on exactly its
declared attribute; every bucket is KMS-encrypted, expires objects after exactly its declared
days, is locked in compliance mode for its declared days where it declares a lock, and keeps
no versions otherwise (a deleted object must be gone); every queue keeps a message no longer
than it declares. Pure: what was read in, findings out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from privacy.logic.pii_patterns import Finding

EXPECTATIONS_ENV = "COMPLIANCE_EXPECTATIONS"


@dataclass(frozen=True)
class TableExpectation:
    ttl_attribute: str | None


@dataclass(frozen=True)
class BucketExpectation:
    expire_after_days: int
    object_lock_days: int | None


@dataclass(frozen=True)
class Expectations:
    """What the topology declares, by topology name."""

    tables: Mapping[str, TableExpectation]
    buckets: Mapping[str, BucketExpectation]

    @classmethod
    def from_json(cls, text: str) -> Expectations:
        data = json.loads(text)
        return cls(
            tables={k: TableExpectation(**v) for k, v in data.get("tables", {}).items()},
            buckets={k: BucketExpectation(**v) for k, v in data.get("buckets", {}).items()},
        )


@dataclass(frozen=True)
class TableSettings:
    """What DynamoDB says of a table (DescribeTable, DescribeContinuousBackups,
    DescribeTimeToLive)."""

    point_in_time_recovery: bool
    sse_type: str | None  # "KMS" when encrypted with a KMS key; None for the owned default
    ttl_status: str  # ENABLED, ENABLING, DISABLED, DISABLING
    ttl_attribute: str | None


@dataclass(frozen=True)
class BucketSettings:
    """What S3 says of a bucket (its encryption, lifecycle, Object Lock and versioning)."""

    sse_algorithm: str | None  # "aws:kms" for the stack key
    expiration_days: int | None  # the enabled whole-bucket rule's expiry, if any
    object_lock_mode: str | None
    object_lock_days: int | None
    versioning: str | None  # Enabled, Suspended, or None (never enabled)


def _setting(store: str, path: str, found: Any, declared: Any) -> Finding:
    return Finding(store, "", path, "setting", f"found {found}, declared {declared}")


def table_findings(name: str, declared: TableExpectation, found: TableSettings) -> list[Finding]:
    store = f"table:{name}"
    out = []
    if not found.point_in_time_recovery:
        out.append(_setting(store, "PointInTimeRecovery", "disabled", "enabled"))
    if found.sse_type != "KMS":
        out.append(_setting(store, "SSEDescription.SSEType", found.sse_type or "owned key", "KMS"))
    ttl_on = found.ttl_status in ("ENABLED", "ENABLING")
    if declared.ttl_attribute is None:
        if ttl_on:
            out.append(_setting(store, "TimeToLive", f"on {found.ttl_attribute}", "none"))
    elif not ttl_on or found.ttl_attribute != declared.ttl_attribute:
        shown = f"on {found.ttl_attribute}" if ttl_on else "disabled"
        out.append(_setting(store, "TimeToLive", shown, f"on {declared.ttl_attribute}"))
    return out


def bucket_findings(name: str, declared: BucketExpectation, found: BucketSettings) -> list[Finding]:
    store = f"bucket:{name}"
    out = []
    if found.sse_algorithm != "aws:kms":
        out.append(_setting(store, "Encryption", found.sse_algorithm or "none", "aws:kms"))
    if found.expiration_days != declared.expire_after_days:
        shown = f"{found.expiration_days} days" if found.expiration_days else "no expiry"
        out.append(
            _setting(store, "Lifecycle.Expiration", shown, f"{declared.expire_after_days} days")
        )
    if declared.object_lock_days is not None:
        lock = (found.object_lock_mode, found.object_lock_days)
        if lock != ("COMPLIANCE", declared.object_lock_days):
            shown = f"{lock[0]} {lock[1]} days" if lock[0] else "no lock"
            wanted = f"COMPLIANCE {declared.object_lock_days} days"
            out.append(_setting(store, "ObjectLock", shown, wanted))
    elif found.versioning == "Enabled":
        out.append(_setting(store, "Versioning", "Enabled", "off (a delete must delete)"))
    return out


def lifecycle_expiration_days(rules: list[dict[str, Any]]) -> int | None:
    """The expiry of the enabled rule that covers every object (no prefix, no tag filter)."""
    for rule in rules:
        if rule.get("Status") != "Enabled" or "Days" not in rule.get("Expiration", {}):
            continue
        filter_ = rule.get("Filter", {})
        if filter_.get("Prefix", "") or set(filter_) - {"Prefix"} or rule.get("Prefix"):
            continue
        return int(rule["Expiration"]["Days"])
    return None
