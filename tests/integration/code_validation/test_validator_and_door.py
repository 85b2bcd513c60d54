"""The code-validate handler invoked directly (as validate_code and agent steps invoke it),
and the kernel door's answers: a result, a refusal (422), a validator failure (502)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from cognitionos import code_validation
from cognitionos.errors import PayloadTooLarge, Unprocessable
from tests.integration.conftest import LambdaContext


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "code-validate")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CognitionOSTest")
    from code_validation.handlers import validate

    return validate.lambda_handler


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({}, "expected an object"),
        ({"files": ["a.py"]}, "expected an object"),
        ({"files": {"../a.py": ""}}, "leaves the submission"),
        ({"files": {"a.py": 3}}, "must be a string"),
    ],
)
def test_a_refused_submission_is_answered_not_run(handler: Any, event: dict, problem: str) -> None:
    answer = handler(event, LambdaContext())
    assert set(answer) == {"refused"}
    assert problem in answer["refused"]


def test_a_submission_is_validated_within_the_invocations_time(handler: Any) -> None:
    answer = handler({"files": {"a.py": "x = 1\n"}}, LambdaContext())
    assert answer["passed"] is True
    assert [s["status"] for s in answer["stages"]] == ["passed"] * 6


class FakeLambda:
    def __init__(self, answer: Any, error: str | None = None) -> None:
        self.answer, self.error, self.calls = answer, error, []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.error:
            response["FunctionError"] = self.error
        return response


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(code_validation.FUNCTION_ENV, "cognitionos-code-validate")

    def install(answer: Any, error: str | None = None) -> FakeLambda:
        lambda_client = FakeLambda(answer, error)
        monkeypatch.setattr(code_validation, "client", lambda *a, **k: lambda_client)
        return lambda_client

    return install


def test_the_door_invokes_the_validator_synchronously_once(fake: Any) -> None:
    lambda_client = fake({"passed": True, "stages": [], "files": {}})
    assert code_validation.validate_code({"a.py": ""})["passed"] is True
    [call] = lambda_client.calls
    assert call["FunctionName"] == "cognitionos-code-validate"
    assert call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"]) == {"files": {"a.py": ""}}


def test_a_refusal_is_a_422_and_a_crash_a_502(fake: Any) -> None:
    fake({"refused": "files: 21 files; at most 20"})
    with pytest.raises(Unprocessable, match="21 files"):
        code_validation.validate_code({"a.py": ""})
    fake({"errorMessage": "boom", "errorType": "RuntimeError"}, error="Unhandled")
    with pytest.raises(code_validation.CodeValidationFailed, match="boom") as failed:
        code_validation.validate_code({"a.py": ""})
    assert failed.value.status_code == 502


def test_a_submission_over_the_invoke_limit_is_refused_before_the_call(fake: Any) -> None:
    lambda_client = fake({})
    with pytest.raises(PayloadTooLarge):
        code_validation.validate_code({"a.py": "\x00" * 1_100_000})  # 6 bytes each as JSON
    assert lambda_client.calls == []
