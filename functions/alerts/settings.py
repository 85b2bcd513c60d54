"""Settings of the alerts functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import Field

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings

DLQ_URL_SUFFIX = "_DLQ_URL"
# alert-notifications' max receives (infra/topology.py): the last attempt is the last receive.
MAX_ATTEMPTS = 6


class TargetSettings(FunctionSettings):
    # The local runner sets it: channels may post to 127.0.0.1 over http.
    cognition_allow_loopback_targets: bool = False


class AlertsApiSettings(ApiKeyAuthSettings, TargetSettings):
    alerts_table: str
    alert_notifications_queue_url: str


class EvaluateSettings(FunctionSettings):
    alerts_table: str
    metrics_table: str
    alert_notifications_queue_url: str


class DispatchSettings(TargetSettings):
    alerts_table: str
    alert_notifications_queue_url: str
    email_sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    alert_notification_email_template: str
    redis_url: str = ""  # empty: the rate limits live in DynamoDB
    # Backoff: a random delay up to base * 2^(attempt-1) seconds, at most the cap.
    alerts_retry_base_s: float = Field(default=2.0, gt=0)
    alerts_retry_cap_s: float = Field(default=300.0, gt=0)
    # How long notifications held back by a rate limit wait to go out as one digest.
    alerts_digest_delay_s: int = Field(default=60, ge=0, le=900)


@functools.cache
def api_settings() -> AlertsApiSettings:
    return load_settings(AlertsApiSettings)


@functools.cache
def evaluate_settings() -> EvaluateSettings:
    return load_settings(EvaluateSettings)


@functools.cache
def dispatch_settings() -> DispatchSettings:
    return load_settings(DispatchSettings)


def dead_letter_queues() -> dict[str, str]:
    """Queue name -> its DLQ's URL, from the ``<NAME>_DLQ_URL`` variables the topology sets
    (``reads_dlq_depth``): ``BILLING_EVENTS_DLQ_URL`` is the DLQ of ``billing-events``."""
    return {
        name[: -len(DLQ_URL_SUFFIX)].lower().replace("_", "-"): url
        for name, url in sorted(os.environ.items())
        if name.endswith(DLQ_URL_SUFFIX) and url
    }
