"""POST /v1/code/validations end to end: the API function invokes code-validate through the
local runner's Lambda API, and each stage runs in the sandbox (docs/CODE_VALIDATION.md)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ROUTE = "/v1/code/validations"
STAGES = ["syntax", "lint", "format", "types", "security", "tests"]
PASSING_TEST = "from calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"
CALC = "def add(a: int, b: int) -> int:\n    return a + b\n"


def validate(runner: Any, files: dict[str, str], key: Any = None) -> dict[str, Any]:
    kwargs = {} if key is None else {"key": key}
    started = time.monotonic()
    response = runner.post(ROUTE, json={"files": files}, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = {s["name"]: (s["status"], s["seconds"]) for s in body["stages"]}
    print(f"{time.monotonic() - started:.2f} s {statuses}")  # shown with -s
    return dict(body)


def statuses(body: dict[str, Any]) -> list[str]:
    assert [stage["name"] for stage in body["stages"]] == STAGES
    return [stage["status"] for stage in body["stages"]]


def stage(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in body["stages"] if s["name"] == name)


def errors(body: dict[str, Any], name: str) -> list[tuple[str, str | None, int | None]]:
    return [
        (f["rule"], f["path"], f["line"])
        for f in stage(body, name)["findings"]
        if f["severity"] in ("error", "medium", "high")
    ]


def failed_at(index: int) -> list[str]:
    return ["passed"] * index + ["failed"] + ["skipped"] * (len(STAGES) - index - 1)


def test_a_clean_submission_passes_all_six_stages(runner: Any) -> None:
    body = validate(runner, {"calc.py": CALC, "test_calc.py": PASSING_TEST})
    assert statuses(body) == ["passed"] * 6
    assert body["passed"] is True
    assert body["files"] == {"calc.py": CALC, "test_calc.py": PASSING_TEST}
    assert body["sandbox"] == {"network": "namespace", "processes": "uid"}  # root on Linux


def test_an_unused_import_and_bad_formatting_are_fixed_and_come_back(runner: Any) -> None:
    messy = "import os\ndef add(a:int,b:int)->int:\n  return a+b\n"
    body = validate(runner, {"calc.py": messy, "test_calc.py": PASSING_TEST})
    assert body["passed"] is True
    assert body["files"]["calc.py"] == CALC
    fixed = {(f["rule"], f["line"], f["severity"]): f for f in stage(body, "lint")["findings"]}
    assert set(fixed) == {("F401", 1, "info"), ("I001", 1, "info")}  # the import block too
    assert fixed["F401", 1, "info"]["message"] == "fixed: `os` imported but unused"
    assert [(f["rule"], f["path"]) for f in stage(body, "format")["findings"]] == [
        ("format", "calc.py")
    ]


def test_a_syntax_error_fails_the_first_stage_and_skips_the_rest(runner: Any) -> None:
    body = validate(runner, {"calc.py": "def add(a, b:\n    return a + b\n"})
    assert statuses(body) == failed_at(0)
    [finding] = stage(body, "syntax")["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("syntax", "calc.py", 1)
    assert "never closed" in finding["message"]
    assert body["passed"] is False


def test_an_undefined_name_fails_lint(runner: Any) -> None:
    body = validate(runner, {"calc.py": "def total() -> int:\n    return subtotal + 1\n"})
    assert statuses(body) == failed_at(1)
    assert errors(body, "lint") == [("F821", "calc.py", 2)]
    assert "Undefined name `subtotal`" in stage(body, "lint")["findings"][0]["message"]


def test_a_line_the_formatter_cannot_wrap_fails_format(runner: Any) -> None:
    long_text = "x" * 130
    body = validate(runner, {"calc.py": f'GREETING = "{long_text}"\n'})
    assert statuses(body) == failed_at(2)
    assert errors(body, "format") == [("E501", "calc.py", 1)]
    assert "Line too long (143 > 120)" in stage(body, "format")["findings"][0]["message"]


def test_a_type_error_fails_types(runner: Any) -> None:
    body = validate(runner, {"calc.py": "def name(n: int) -> str:\n    return n\n"})
    assert statuses(body) == failed_at(3)
    assert errors(body, "types") == [("return-value", "calc.py", 2)]
    assert (
        'Incompatible return value type (got "int", expected "str")'
        in (stage(body, "types")["findings"][0]["message"])
    )


def test_a_shell_injection_fails_security_with_banditss_test_id(runner: Any) -> None:
    source = (
        "import subprocess\n\n\ndef run(command: str) -> int:\n"
        "    return subprocess.call(command, shell=True)\n"
    )
    body = validate(runner, {"shell.py": source})
    assert statuses(body) == failed_at(4)
    assert errors(body, "security") == [("B602", "shell.py", 5)]
    [b602] = [f for f in stage(body, "security")["findings"] if f["rule"] == "B602"]
    assert b602["severity"] == "high"
    assert "shell=True" in b602["message"]


def test_a_failing_test_fails_tests_at_its_assertion(runner: Any) -> None:
    wrong = "from calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 2) == 5\n"
    body = validate(runner, {"calc.py": CALC, "test_calc.py": wrong})
    assert statuses(body) == failed_at(5)
    assert errors(body, "tests") == [("test", "test_calc.py", 5)]
    assert "test_calc.py::test_add: assert 4 == 5" in stage(body, "tests")["findings"][0]["message"]


def test_the_code_sees_no_credentials_and_no_network(runner: Any) -> None:
    probe = (
        "import os\nimport socket\n\n\n"
        "def test_no_secret() -> None:\n"
        "    assert 'AWS_SECRET_ACCESS_KEY' not in os.environ\n"
        "    assert 'AWS_ENDPOINT_URL' not in os.environ\n\n\n"
        "def test_no_network() -> None:\n"
        "    with socket.socket() as s:\n"
        "        assert s.connect_ex(('127.0.0.1', int(os.environ.get('PORT', '3000')))) != 0\n"
    )
    body = validate(runner, {"test_sandbox.py": probe})
    assert body["passed"] is True, stage(body, "tests")


def test_the_route_needs_the_agents_run_scope(runner: Any) -> None:
    key = runner.post("/v1/api-keys", json={"name": "cv-reader", "scopes": ["billing:read"]})
    response = runner.post(ROUTE, json={"files": {"a.py": ""}}, key=key.json()["key"])
    assert response.status_code == 403
    assert runner.post(ROUTE, json={"files": {"a.py": ""}}, key=None).status_code == 401


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({f"m{i}.py": "" for i in range(21)}, "at most 20"),
        ({"big.py": "#" * 100_001}, "100001 bytes; at most 100000"),
        ({"../escape.py": ""}, "leaves the submission"),
        ({"pkg/../../escape.py": ""}, "leaves the submission"),
        ({"/etc/cron.py": ""}, "absolute"),
        ({"nul\u0000.py": ""}, "NUL"),
        ({"café.py": ""}, "outside [A-Za-z0-9_./-]"),
        ({"run.sh": ""}, "must end in one of .py"),
        ({}, "at least 1 item"),
    ],
    ids=[
        "21 files",
        "too large",
        "dot-dot",
        "nested dot-dot",
        "absolute",
        "nul",
        "accent",
        "extension",
        "none",
    ],
)
def test_a_broken_rule_is_a_422_naming_the_problem(
    runner: Any, files: dict[str, str], problem: str
) -> None:
    response = runner.post(ROUTE, json={"files": files})
    assert response.status_code == 422, response.text
    assert problem in response.json()["message"]


def test_a_source_that_is_not_utf8_is_a_422(runner: Any) -> None:
    # A lone surrogate is valid JSON but no UTF-8 text.
    body = '{"files": {"calc.py": "x = \\"\\ud800\\"\\n"}}'
    response = runner.post(ROUTE, data=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "not valid UTF-8" in response.json()["message"]
    json.loads(body)  # the body itself is JSON
