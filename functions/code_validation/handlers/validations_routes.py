"""POST /v1/code/validations: the six stages on a submission, answered when done."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from code_validation.logic.submission import InvalidSubmission, check_submission
from code_validation.models.validation import MAX_FILE_BYTES, MAX_FILES, ValidationRequest
from code_validation.models.validation import ValidationResult as ValidationAnswer
from cognitionos.code_validation import INVOKE_WAIT_S, validate_code
from cognitionos.errors import Unprocessable
from cognitionos.http import FORBIDDEN, UNAUTHORIZED, documented_responses, require_scope

router = APIGatewayHttpRouter()


@router.post(
    "/v1/code/validations",
    middlewares=[require_scope("agents:run")],
    tags=["code validation"],
    summary="Validate Python code in the sandbox",
    description=(
        "Runs six stages, cheapest first, each in a sandboxed process with an empty "
        "environment and no network: `syntax` (ast.parse), `lint` (ruff, safe fixes "
        "applied), `format` (ruff format), `types` (mypy), `security` (bandit: a finding of "
        "medium severity or higher fails) and `tests` (pytest on the submission's "
        "`test_*.py` and `*_test.py`). The first failed stage skips the rest; `files` holds "
        "the files after the fixes. A stage a sandbox limit stopped fails with one finding "
        "whose `rule` is `limit.cpu`, `limit.memory`, `limit.timeout`, `limit.file_size` "
        f"or `limit.processes`. At most {MAX_FILES} files of {MAX_FILE_BYTES:,} bytes. "
        "Needs `agents:run`."
    ),
    responses=documented_responses(
        "The validation ran; `passed` says whether every stage passed",
        {
            400: "The body is not JSON, or not UTF-8",
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            413: "The submission is larger than the validator accepts",
            415: "The body was not sent as `Content-Type: application/json`",
            422: "A rule of the submission is broken (too many files, a file too large, a "
            "path that is absolute, leaves the submission, has other characters or "
            "extensions, or a source that is not UTF-8); `errors` names it; nothing ran",
            502: "The validator itself failed",
        },
        examples={
            413: "the submission is 7000000 bytes as JSON; at most 6291456",
            422: "files.'../escape.py': the path leaves the submission ('..')",
            502: f"the validator did not answer within {INVOKE_WAIT_S} s",
        },
    ),
)
def validate(body: ValidationRequest) -> ValidationAnswer:
    try:
        check_submission(body.files)
    except InvalidSubmission as exc:
        raise Unprocessable(str(exc)) from None
    answer: dict[str, Any] = validate_code(body.files)
    return ValidationAnswer.model_validate(answer)
