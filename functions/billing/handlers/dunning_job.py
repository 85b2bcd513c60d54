"""The ``dunning`` job: reminders before each payment retry and a final notice when none is
left; hourly, and on demand through ``POST /v1/admin/jobs/dunning``."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dal.dunning import dunning_service
from billing.settings import dunning_job_settings
from cognitionos.aws import dynamodb_table
from cognitionos.jobs import job_name
from cognitionos.observability import MetricUnit, logger, metrics, traced


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = dunning_job_settings()
    logger.append_keys(job=job_name(event))
    dunning = dunning_service(dynamodb_table(settings.billing_table), settings)
    summary = dunning.run_job(int(time.time())).as_dict()
    metrics.add_metric("DunningEmailsSent", MetricUnit.Count, summary["emails_sent"])
    metrics.add_metric("DunningOpenCases", MetricUnit.Count, summary["open_cases"])
    logger.info("dunning done", extra=summary)
    return summary
