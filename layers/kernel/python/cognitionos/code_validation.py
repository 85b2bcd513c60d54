"""The door to the code-validate function: any context whose topology entry says
``validates_code=True`` gets ``CODE_VALIDATE_FUNCTION`` and may invoke it, synchronously.

``validate_code({"app.py": "..."})`` answers what ``POST /v1/code/validations`` answers:
``{"passed", "stages", "files", "sandbox"}``. A submission that breaks the input rules is
refused with ``Unprocessable`` (422) naming the problem, and nothing runs.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ReadTimeoutError

from cognitionos.aws import client
from cognitionos.errors import DomainError, PayloadTooLarge, Unprocessable

FUNCTION_ENV = "CODE_VALIDATE_FUNCTION"
# The function stops its stages by 25 s; a little more for its cold start and the answer.
INVOKE_WAIT_S = 28
# Lambda's synchronous request payload limit.
MAX_REQUEST_BYTES = 6 * 1024 * 1024


class CodeValidationFailed(DomainError):
    """The validator itself failed (not the code): a crash, a timeout."""

    status_code = 502


def validate_code(files: dict[str, str]) -> dict[str, Any]:
    """Run the six stages on ``files`` (relative path -> source) in the sandbox."""
    function_name = os.environ.get(FUNCTION_ENV)
    if not function_name:
        raise RuntimeError(f"{FUNCTION_ENV} is not set: declare validates_code=True")
    payload = json.dumps({"files": files}).encode()
    if len(payload) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(
            f"the submission is {len(payload)} bytes as JSON; at most {MAX_REQUEST_BYTES}"
        )
    try:
        # No retry: a validation that answered slowly would run twice.
        response = client("lambda", read_timeout_s=INVOKE_WAIT_S, retry=False).invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=payload
        )
    except ReadTimeoutError:
        raise CodeValidationFailed(
            f"the validator did not answer within {INVOKE_WAIT_S} s"
        ) from None
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = answer.get("errorMessage") if isinstance(answer, dict) else answer
        raise CodeValidationFailed(f"the validator failed: {message}")
    if not isinstance(answer, dict):
        raise CodeValidationFailed(f"the validator answered {type(answer).__name__}, not a result")
    if "refused" in answer:
        raise Unprocessable(str(answer["refused"]))
    return answer
