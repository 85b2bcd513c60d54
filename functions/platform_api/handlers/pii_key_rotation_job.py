"""The ``pii-key-rotation`` job: every 15 minutes, and on demand through ``/v1/admin/jobs``,
re-wrap subjects' data keys from the previous PII key to the current one, continuing from
where the last run stopped (docs/SECURITY.md, "Rotating the PII key")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos import deadline
from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.jobs import is_on_demand, job_name
from cognitionos.key_rotation import SubjectKeyRewrapper
from cognitionos.observability import MetricUnit, logger, metrics, traced
from cognitionos.timeutil import iso, now
from platform_api.dal.key_rotations import KeyRotations
from platform_api.logic.key_rotation import run_rotation
from platform_api.settings import key_rotation_settings

# An on-demand run answers the admin route, which waits 28 s: it stops well before.
ON_DEMAND_BUDGET_S = 20.0


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = key_rotation_settings()
    job = job_name(event)
    logger.append_keys(job=job)
    keys = SubjectKeyRewrapper(
        dynamodb_table(settings.subject_keys_table),
        settings.pii_key_id,
        settings.pii_previous_key_id or None,
    )
    budget = ON_DEMAND_BUDGET_S if is_on_demand(event) else float("inf")
    with deadline.of_invocation(context):
        ends_in = min(budget, deadline.remaining_s())
        started = deadline.remaining_s()
        tally, progress = run_rotation(
            keys,
            KeyRotations(dynamodb_table(settings.key_rotations_table)),
            seconds_left=lambda: ends_in - (started - deadline.remaining_s()),
            clock=lambda: iso(now()),
        )
    summary = tally.summary()
    if tally.examined:  # a run after the rotation is done reads one item and records nothing
        audit_log().record(
            "key.rotated",
            actor=f"job:{job}",
            resource=f"kms-key:{progress.target_key}",
            details={**summary, "from_key": progress.source_key, "to_key": progress.target_key},
        )
    if summary["other_key"]:
        logger.error(
            "subjects on a key that is neither the current nor the previous PII key",
            extra={"other_key": summary["other_key"]},
        )
    metrics.add_metric("SubjectKeysRewrapped", MetricUnit.Count, summary["rewrapped"])
    logger.info("pii-key-rotation run", extra=summary)
    return summary
