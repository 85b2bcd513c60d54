"""The ``alerts-evaluate`` job: every rule against its metric, every minute, and on demand
through ``POST /v1/admin/jobs/alerts-evaluate``."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from alerts.dal.metric_source import MetricSource
from alerts.dal.notifications import NotificationQueue
from alerts.dal.store import AlertStore
from alerts.logic.default_rules import default_rules
from alerts.logic.evaluator import Evaluator
from alerts.settings import dead_letter_queues, evaluate_settings
from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.jobs import job_name
from cognitionos.metrics_store import MetricsStore
from cognitionos.observability import MetricUnit, logger, metrics, traced


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = evaluate_settings()
    logger.append_keys(job=job_name(event))
    now = time.time()
    source = MetricSource(
        MetricsStore(dynamodb_table(settings.metrics_table)), dead_letter_queues(), now
    )
    evaluator = Evaluator(
        store=AlertStore(dynamodb_table(settings.alerts_table), audit=audit_log()),
        queue=NotificationQueue(settings.alert_notifications_queue_url),
        metrics=source.series,
        clock=lambda: now,
    )
    summary = evaluator.run(default_rules(source.queues)).as_dict()
    metrics.add_metric("AlertsFired", MetricUnit.Count, summary["fired"])
    metrics.add_metric("AlertsResolved", MetricUnit.Count, summary["resolved"])
    logger.info("alerts evaluated", extra=summary)
    return summary
