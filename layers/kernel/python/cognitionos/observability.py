"""Logging, metrics and (optional) tracing, configured the same way in every function.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE``, which the topology sets per function.

Tracing is opt-in (``cdk deploy -c tracing=true`` sets ``POWERTOOLS_TRACE_DISABLED=false``):
the X-Ray SDK adds ~140 ms to every cold start, so with tracing off it is never imported.
A trace keeps timings and annotations only: Powertools would otherwise store a handler's
response (a billing read answers with a customer's decrypted email and name) and its
exception object as X-Ray metadata, outside the encryption and retention that personal data
is kept under (docs/SECURITY.md). Exceptions still show in the trace as faults, and in the
function's own logs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()

# Most reads emit no metric of their own; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "false"


def traced(handler: Handler) -> Handler:
    """Wrap a Lambda handler with Powertools Tracer when tracing is on; else leave it be."""
    if not tracing_enabled():
        return handler
    # Imported here so that a function with tracing off never loads the X-Ray SDK.
    from aws_lambda_powertools import Tracer  # noqa: PLC0415

    # Never the response or the exception as metadata, whatever POWERTOOLS_TRACER_CAPTURE_*
    # say: an explicit choice wins over those variables.
    capture = Tracer().capture_lambda_handler(capture_response=False, capture_error=False)
    return cast(Handler, capture(handler))


__all__ = ["MetricUnit", "logger", "metrics", "traced"]
