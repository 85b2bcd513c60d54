"""Scheduled jobs: the event EventBridge Scheduler sends, shared by the stack, the admin
route and the local runner so that every way of starting a job gives it the same input.

The one difference: a run someone asked for now (``POST /v1/admin/jobs/{job}``) carries
``detail.on_demand: true``. A job with a part on a slower cadence than its schedule (a nightly
part of an hourly job) runs that part too when the flag is set.
"""

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
    on_demand: bool = False,
) -> dict[str, Any]:
    """The input the stack's Scheduler target template renders for ``job``; ``on_demand``
    marks a run someone asked for now."""
    detail: dict[str, Any] = {"job": job}
    if on_demand:
        detail["on_demand"] = True
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
        "detail": detail,
    }


def job_name(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("job"), str):
        raise ValueError("not a schedule event: detail.job is missing")
    return str(detail["job"])


def is_on_demand(event: dict[str, Any]) -> bool:
    """True when someone asked for this run now, rather than its schedule firing."""
    detail = event.get("detail")
    return isinstance(detail, dict) and detail.get("on_demand") is True
