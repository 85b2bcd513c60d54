"""The code-validate function: ``{"files": {path: source}}`` in, the six stages' result out.

Invoked synchronously (the validations route, agent steps) through
``cognitionos.code_validation.validate_code``. A submission that breaks the input rules is
answered ``{"refused": "<the problem>"}`` and nothing runs. Sources are never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from code_validation.logic.submission import InvalidSubmission, check_submission
from code_validation.sandbox.process import protect_own_environment
from code_validation.sandbox.validator import validate_files
from code_validation.settings import validator_settings
from cognitionos.observability import MetricUnit, logger, metrics, traced

# Kept back from the function's timeout for the answer itself.
ANSWER_MARGIN_S = 1.5

validator_settings()
protect_own_environment()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    files = event.get("files") if isinstance(event, dict) else None
    try:
        if not isinstance(files, dict):
            raise InvalidSubmission("files: expected an object of path -> source")
        check_submission(files)
    except InvalidSubmission as exc:
        logger.info("submission refused", extra={"reason": str(exc)})
        return {"refused": str(exc)}
    budget_s = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_S
    result = validate_files(files, budget_s)
    summary: dict[str, str] = {stage.name: stage.status for stage in result.stages}
    logger.info("validated", extra={"files": len(files), "passed": result.passed, **summary})
    metrics.add_metric("CodeValidations", MetricUnit.Count, 1)
    if not result.passed:
        metrics.add_metric("CodeValidationsFailed", MetricUnit.Count, 1)
    return result.model_dump(mode="json")
