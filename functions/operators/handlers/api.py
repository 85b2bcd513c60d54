"""The operator-auth function: dashboard sign-in, session, sign-out (outside /v1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.http import create_resolver
from cognitionos.observability import logger, metrics, traced
from operators.handlers import auth_routes
from operators.logic.passwords import dummy_hash
from operators.settings import operator_auth_settings

app = create_resolver()
app.include_router(auth_routes.router)
# At cold start, not on the first unknown email: that answer must cost what any other does.
dummy_hash()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    operator_auth_settings()
    return app.resolve(event, context)
