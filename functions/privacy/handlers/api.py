"""The privacy API (``/v1/privacy/...``): one resolver, one router per resource."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.http import create_resolver
from cognitionos.observability import logger, metrics, traced
from privacy.handlers import consents_routes, requests_routes
from privacy.settings import api_settings

app = create_resolver()
app.include_router(requests_routes.router)
app.include_router(consents_routes.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api_settings()
    return app.resolve(event, context)
