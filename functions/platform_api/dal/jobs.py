"""Running a scheduled job now: a synchronous Lambda invoke with the schedule's own event,
marked ``on_demand`` so that the job runs every part of itself now."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ReadTimeoutError

from cognitionos.aws import client
from cognitionos.errors import DomainError, NotFound
from cognitionos.jobs import schedule_event

# API Gateway gives up after 30 s; wait just under that for the job to answer.
JOB_WAIT_S = 28


class JobFailed(DomainError):
    status_code = 502


class JobStillRunning(DomainError):
    status_code = 504


class JobRunner:
    def __init__(self, job_functions: dict[str, str]) -> None:
        self._functions = job_functions

    def require(self, job: str) -> str:
        """The function that runs ``job``; NotFound for an unknown job."""
        function_name = self._functions.get(job)
        if function_name is None:
            raise NotFound(f"no job '{job}'; jobs: {sorted(self._functions)}")
        return function_name

    def run(self, job: str) -> Any:
        """The job's summary; NotFound for an unknown job, JobFailed if it raised."""
        function_name = self.require(job)
        try:
            # No retry: a slow job is still running, and a retry would start it twice.
            response = client("lambda", read_timeout_s=JOB_WAIT_S, retry=False).invoke(
                FunctionName=function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(schedule_event(job, on_demand=True)).encode(),
            )
        except ReadTimeoutError:
            raise JobStillRunning(
                f"job '{job}' is still running after {JOB_WAIT_S} s; it finishes on its own, "
                "see its logs for the summary"
            ) from None
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise JobFailed(f"job '{job}' failed: {message}")
        return payload
