"""The ``revenue-rollup`` job: hourly, and on demand through ``/v1/admin/jobs``, turn new
MRR change records into monthly totals (``revenue.logic.rollup``)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.aws import dynamodb_table
from cognitionos.jobs import job_name
from cognitionos.observability import MetricUnit, logger, metrics, traced
from revenue.dal.mrr_feed import MrrFeedReader
from revenue.dal.rollup_store import RevenueStore
from revenue.logic.rollup import run_rollup
from revenue.settings import rollup_settings


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = rollup_settings()
    logger.append_keys(job=job_name(event))
    store = RevenueStore(dynamodb_table(settings.revenue_table))
    feed = MrrFeedReader(dynamodb_table(settings.billing_table))
    # ``detail.full_recompute`` (operators, via a direct invoke) rebuilds every month.
    full = event.get("detail", {}).get("full_recompute") is True
    owner = str(uuid.uuid4())
    # The lease outlives the function's timeout, so a crashed run never blocks for long.
    store.acquire_lease(owner, context.get_remaining_time_in_millis() // 1000 + 60)
    try:
        result = run_rollup(store, feed, settings.fx, int(time.time()), full=full)
    finally:
        store.release_lease(owner)
    metrics.add_metric("RevenueRecordsRead", MetricUnit.Count, result.records_read)
    metrics.add_metric("RevenueCustomersChanged", MetricUnit.Count, result.customers_changed)
    summary = result.as_dict()
    logger.info("revenue-rollup done", extra=summary)
    return summary
