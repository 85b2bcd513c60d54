"""Settings of the billing functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class IngestSettings(FunctionSettings):
    billing_table: str
    billing_events_queue_url: str
    stripe_webhook_secret_id: str


class ProcessSettings(FunctionSettings):
    billing_table: str
    stripe_api_key_secret_id: str  # optional key: re-fetches an object to break a tie
    stripe_api_base: str | None = None


class BillingApiSettings(ApiKeyAuthSettings):
    billing_table: str


class ReconcileSettings(FunctionSettings):
    billing_table: str
    billing_events_queue_url: str
    stripe_api_key_secret_id: str
    stripe_api_base: str | None = None


class UsageReportSettings(FunctionSettings):
    usage_table: str
    stripe_api_key_secret_id: str
    stripe_api_base: str | None = None


@functools.cache
def ingest_settings() -> IngestSettings:
    return load_settings(IngestSettings)


@functools.cache
def process_settings() -> ProcessSettings:
    return load_settings(ProcessSettings)


@functools.cache
def api_settings() -> BillingApiSettings:
    return load_settings(BillingApiSettings)


@functools.cache
def reconcile_settings() -> ReconcileSettings:
    return load_settings(ReconcileSettings)


@functools.cache
def usage_report_settings() -> UsageReportSettings:
    return load_settings(UsageReportSettings)
