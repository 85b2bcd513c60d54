"""Logging, metrics and (optional) tracing, configured the same way in every function.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE``, which the topology sets per function. Powertools Tracer is
left out on purpose: the X-Ray SDK adds ~140 ms to every cold start and its support ends in
2027; Lambda's own active tracing (a CDK context flag) still gives the service map.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()

# Most reads emit no metric of their own; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

__all__ = ["MetricUnit", "logger", "metrics"]
