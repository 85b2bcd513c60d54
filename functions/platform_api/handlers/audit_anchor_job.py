"""The ``audit-anchor`` job: daily, and on demand through ``/v1/admin/jobs``, write each
audit chain's head to the Object Lock bucket (``cognitionos.audit.anchors``), and record the
run as ``audit.anchored`` on the operators' chain when it anchored a head that moved.

That entry moves the operators' head itself, so the next run anchors it: one entry a day,
and each day's anchor of the operators' chain covers the previous day's ``audit.anchored``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.audit.anchors import Anchors
from cognitionos.audit.store import AuditReader, audit_log
from cognitionos.aws import client, dynamodb_table
from cognitionos.jobs import job_name
from cognitionos.observability import MetricUnit, logger, metrics, traced
from cognitionos.timeutil import now
from platform_api.settings import audit_anchor_settings


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = audit_anchor_settings()
    job = job_name(event)
    logger.append_keys(job=job)
    entries = dynamodb_table(settings.audit_table)
    reader = AuditReader(entries, dynamodb_table(settings.audit_heads_table))
    anchors = Anchors(entries, client("s3"), settings.audit_anchors_bucket)
    summary = anchors.anchor_all(reader, now()).as_dict()
    if summary["anchored"]:  # a rerun over unchanged heads anchors nothing and says nothing
        audit_log().record(
            "audit.anchored", actor=f"job:{job}", resource="audit:anchors", details=summary
        )
    metrics.add_metric("AuditChainsAnchored", MetricUnit.Count, summary["anchored"])
    logger.info("audit-anchor done", extra=summary)
    return summary
