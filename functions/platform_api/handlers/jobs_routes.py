"""POST /v1/admin/jobs/{job}: run a scheduled job now and answer with its summary."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.auth import ADMIN
from cognitionos.http import require_scope
from platform_api.dal.jobs import JobRunner
from platform_api.settings import platform_settings

router = APIGatewayHttpRouter()


@router.post("/v1/admin/jobs/<job>", middlewares=[require_scope(ADMIN)], tags=["platform"])
def run_job(job: Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,63}$")]) -> dict[str, Any]:
    summary = JobRunner(platform_settings().job_functions).run(job)
    return {"job": job, "summary": summary}
