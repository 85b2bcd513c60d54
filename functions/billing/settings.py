"""Settings of the billing functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools

from pydantic import Field

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class IngestSettings(FunctionSettings):
    billing_table: str
    billing_events_queue_url: str
    event_bodies_bucket: str  # where an event too large to queue waits (a claim check)
    stripe_webhook_secret_id: str
    audit_table: str  # webhook.rejected (billing.dal.rejections)
    audit_heads_table: str


class BillingApiSettings(ApiKeyAuthSettings):
    billing_table: str


class ReconcileSettings(FunctionSettings):
    billing_table: str
    billing_events_queue_url: str
    event_bodies_bucket: str
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


class DunningEmailSettings(FunctionSettings):
    """What a function that runs dunning needs besides the billing table: the sender, the
    three SES templates and the Stripe key the recipient directory reads emails with."""

    billing_table: str
    # A bare address: the IAM policy allows exactly this From address (ses:FromAddress).
    email_sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    dunning_payment_failed_email_template: str
    dunning_reminder_email_template: str
    dunning_final_notice_email_template: str
    stripe_api_key_secret_id: str
    stripe_api_base: str | None = None


class DunningJobSettings(DunningEmailSettings):
    pass


class ProcessSettings(DunningEmailSettings):
    """The processor also re-fetches a tied object and learns coupons with the (optional)
    Stripe key, reads (then deletes) the bodies of claim checks, and queues re-derivations
    of customers on its own queue."""

    event_bodies_bucket: str
    billing_events_queue_url: str


@functools.cache
def dunning_job_settings() -> DunningJobSettings:
    return load_settings(DunningJobSettings)
