"""The code validation API (``/v1/code/validations``): one resolver, one router."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_validation.handlers import validations_routes
from code_validation.settings import api_settings
from cognitionos.http import create_resolver
from cognitionos.observability import logger, metrics, traced

app = create_resolver()
app.include_router(validations_routes.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api_settings()
    return app.resolve(event, context)
