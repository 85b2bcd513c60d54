"""Settings of the platform API and audit functions."""

from __future__ import annotations

import functools

from pydantic import Field

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class PlatformApiSettings(ApiKeyAuthSettings):
    # job name -> the Lambda function that runs it (JSON, from the topology)
    job_functions: dict[str, str] = Field(default_factory=dict)


class AuditApiSettings(ApiKeyAuthSettings):
    audit_table: str
    audit_heads_table: str
    audit_anchors_bucket: str


class AuditAnchorSettings(FunctionSettings):
    audit_table: str
    audit_heads_table: str
    audit_anchors_bucket: str


@functools.cache
def platform_settings() -> PlatformApiSettings:
    return load_settings(PlatformApiSettings)


@functools.cache
def audit_api_settings() -> AuditApiSettings:
    return load_settings(AuditApiSettings)


@functools.cache
def audit_anchor_settings() -> AuditAnchorSettings:
    return load_settings(AuditAnchorSettings)


class KeyRotationSettings(FunctionSettings):
    subject_keys_table: str
    key_rotations_table: str
    pii_key_id: str  # the current PII key's ARN: data keys are re-wrapped to it
    # The key they are re-wrapped from; unset when no rotation is under way.
    pii_previous_key_id: str | None = None


@functools.cache
def key_rotation_settings() -> KeyRotationSettings:
    return load_settings(KeyRotationSettings)
