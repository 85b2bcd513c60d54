"""Scheduled jobs: the event EventBridge Scheduler sends, shared by the stack, the admin
route and the local runner so that a job cannot tell who started it."""

from __future__ import annotations

import uuid
from typing import Any

from cognitionos.timeutil import iso, now


def schedule_event(
    job: str,
    *,
    account: str = "000000000000",
    region: str = "us-east-1",
    schedule_arn: str | None = None,
    execution_id: str | None = None,
    scheduled_time: str | None = None,
) -> dict[str, Any]:
    """The input the stack's Scheduler target template renders for ``job``."""
    return {
        "version": "0",
        "id": execution_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account,
        "time": scheduled_time or iso(now()),
        "region": region,
        "resources": [
            schedule_arn or f"arn:aws:scheduler:{region}:{account}:schedule/default/{job}"
        ],
        "detail": {"job": job},
    }


def job_name(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("job"), str):
        raise ValueError("not a schedule event: detail.job is missing")
    return str(detail["job"])
