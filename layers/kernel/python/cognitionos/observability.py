"""Logging, metrics and (optional) tracing, configured the same way in every function.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE``, which the topology sets per function. Tracer is opt-in
(``COGNITION_TRACING=on``) because the X-Ray SDK costs ~140 ms of cold start.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics"]
