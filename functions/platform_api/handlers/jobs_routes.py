"""POST /v1/admin/jobs/{job}: run a scheduled job now and answer with its summary."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.audit.store import audit_log
from cognitionos.auth import ADMIN
from cognitionos.http import (
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)
from platform_api.dal.jobs import JOB_WAIT_S, JobRunner
from platform_api.models.api_keys import JobRun
from platform_api.settings import platform_settings

router = APIGatewayHttpRouter()


@router.post(
    "/v1/admin/jobs/<job>",
    middlewares=[require_scope(ADMIN, audit_denials=True)],
    tags=["platform"],
    summary="Run a scheduled job now",
    description=(
        "Runs the job as its schedule would, with every part of it due now, and answers "
        "with what it returned. Jobs: `alerts-evaluate`, `billing-reconcile`, `dunning`, "
        "`revenue-rollup`, `audit-anchor`, `pii-key-rotation`, `privacy-compliance`. "
        "Needs `admin`."
    ),
    responses=documented_responses(
        "The job finished; `summary` is what it answered",
        {
            401: UNAUTHORIZED,
            403: "The key lacks the `admin` scope",
            404: "There is no job of this name; the message lists the jobs",
            422: INVALID,
            502: "The job failed; the message carries its error",
            504: f"The job is still running after {JOB_WAIT_S} s; it finishes on its own",
        },
        examples={
            403: "this API key lacks the 'admin' scope",
            404: "no job 'nightly'; jobs: ['billing-reconcile', 'dunning', 'revenue-rollup']",
        },
    ),
)
def run_job(
    job: Annotated[
        str,
        Path(
            pattern=r"^[a-z][a-z0-9-]{0,63}$",
            description="The job's name",
            openapi_examples={"revenue rollup": {"value": "revenue-rollup"}},
        ),
    ],
) -> JobRun:
    runner = JobRunner(platform_settings().job_functions)
    runner.require(job)
    # Recorded before it runs: a job that fails or times out was still asked for.
    audit_log().record(
        "admin.job.run",
        actor=current_principal(router).key_id,
        resource=f"job:{job}",
        details={"job": job},
    )
    return JobRun(job=job, summary=runner.run(job))
