"""The platform API: health, API keys, on-demand jobs, OpenAPI and Swagger UI."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.http import create_resolver
from cognitionos.observability import logger, metrics, traced
from platform_api.handlers import api_keys_routes, docs_routes, jobs_routes
from platform_api.settings import platform_settings

app = create_resolver()
app.include_router(docs_routes.router)
app.include_router(api_keys_routes.router)
app.include_router(jobs_routes.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    platform_settings()
    return app.resolve(event, context)
