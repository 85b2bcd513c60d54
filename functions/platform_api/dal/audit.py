"""The audit API's door to the audit tables and the anchors bucket."""

from __future__ import annotations

from cognitionos.audit.anchors import Anchors
from cognitionos.audit.store import AuditReader
from cognitionos.aws import client, dynamodb_table
from platform_api.settings import audit_api_settings


def audit_reader() -> AuditReader:
    settings = audit_api_settings()
    return AuditReader(
        dynamodb_table(settings.audit_table), dynamodb_table(settings.audit_heads_table)
    )


def audit_anchors() -> Anchors:
    settings = audit_api_settings()
    return Anchors(
        dynamodb_table(settings.audit_table), client("s3"), settings.audit_anchors_bucket
    )
