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
