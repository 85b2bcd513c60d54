"""The privacy API (``/v1/privacy/...``): one resolver, one router per resource."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.http import create_resolver
from cognitionos.observability import logger, metrics, traced
from privacy.handlers import requests_routes
from privacy.settings import api_settings

app = create_resolver()
app.include_router(requests_routes.router)
# The consent routes are built on another branch; until it is merged this branch serves
# the request routes alone (the lead makes this import unconditional when merging).
if importlib.util.find_spec("privacy.handlers.consents_routes") is not None:
    app.include_router(importlib.import_module("privacy.handlers.consents_routes").router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api_settings()
    return app.resolve(event, context)
