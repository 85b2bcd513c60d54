"""Settings of the privacy functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class PrivacyApiSettings(ApiKeyAuthSettings):
    privacy_table: str
    privacy_requests_queue_url: str
    privacy_exports_bucket: str


class PrivacyWorkerSettings(FunctionSettings):
    privacy_table: str
    privacy_exports_bucket: str
    privacy_requests_queue_url: str  # an erasure's delayed re-check of the key-cache bound
    billing_table: str
    agents_table: str
    alerts_table: str
    revenue_table: str
    usage_table: str
    audit_table: str
    metrics_table: str
    event_bodies_bucket: str


@functools.cache
def api_settings() -> PrivacyApiSettings:
    return load_settings(PrivacyApiSettings)


@functools.cache
def worker_settings() -> PrivacyWorkerSettings:
    return load_settings(PrivacyWorkerSettings)


class ComplianceSettings(FunctionSettings):
    """The compliance checker's: the declared store settings (``COMPLIANCE_EXPECTATIONS``,
    from the topology) and the billing table, where known subjects' names are sealed. The
    stores to scan are every ``<NAME>_TABLE`` and ``<NAME>_BUCKET`` variable."""

    compliance_expectations: str
    billing_table: str


@functools.cache
def compliance_settings() -> ComplianceSettings:
    return load_settings(ComplianceSettings)
