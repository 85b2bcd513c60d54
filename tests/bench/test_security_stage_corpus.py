"""The security stage against bandit's own examples/ corpus, and false positives on clean
code. The corpus is not committed: point BANDIT_EXAMPLES at a checkout's examples/ folder
(``git archive HEAD examples`` of github.com/PyCQA/bandit) and BANDIT_FUNCTIONAL_TESTS at its
tests/functional/test_functional.py, whose expectations say which examples hold a finding of
medium severity or higher. Skipped without them.

Clean corpora: CPython's Lib/json of this interpreter, and our own kernel
(layers/kernel/python/cognitionos).
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from code_validation.sandbox import stages
from tests.bench.conftest import report

ROOT = Path(__file__).resolve().parents[2]


def expected_failures(functional_tests: Path) -> dict[str, bool]:
    """Example file -> whether bandit's own tests expect a medium or high finding in it."""
    expected: dict[str, bool] = {}
    for node in ast.walk(ast.parse(functional_tests.read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        expect = None
        for statement in ast.walk(node):
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "expect" for t in statement.targets
            ):
                try:
                    expect = ast.literal_eval(statement.value)
                except ValueError:
                    expect = None
            if (
                isinstance(statement, ast.Call)
                and getattr(statement.func, "attr", "") == "check_example"
                and not statement.keywords
                and isinstance(statement.args[0], ast.Constant)
                and isinstance(expect, dict)
            ):
                severity = expect.get("SEVERITY", {})
                name = str(statement.args[0].value)
                expected.setdefault(name, severity.get("MEDIUM", 0) + severity.get("HIGH", 0) > 0)
    return expected


def security_fails(path: str, source: str) -> tuple[bool, list[str]]:
    outcome = stages.security({path: source}, stages.DEFAULT_LIMITS["security"])
    failing = [f.rule for f in outcome.findings if f.severity in ("medium", "high", "error")]
    return outcome.failed, failing


@pytest.mark.skipif(
    not (os.environ.get("BANDIT_EXAMPLES") and os.environ.get("BANDIT_FUNCTIONAL_TESTS")),
    reason="set BANDIT_EXAMPLES and BANDIT_FUNCTIONAL_TESTS (bandit's examples, not committed)",
)
def test_detection_on_bandits_examples_and_false_positives_on_clean_code() -> None:
    examples = Path(os.environ["BANDIT_EXAMPLES"])
    expected = expected_failures(Path(os.environ["BANDIT_FUNCTIONAL_TESTS"]))
    judged = {name: flag for name, flag in expected.items() if (examples / name).is_file()}
    caught, missed, false_alarms, unreadable = [], [], [], []
    for name, should_fail in sorted(judged.items()):
        try:
            source = (examples / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            unreadable.append(name)
            continue
        failed, rules = security_fails(name, source)
        if "bandit" in rules:
            unreadable.append(name)  # bandit could not parse it (Python 2 syntax, ...)
        elif should_fail:
            (caught if failed else missed).append(name)
        elif failed:
            false_alarms.append(f"{name} {rules}")
    clean = {
        "CPython Lib/json": Path(json.__file__).parent,
        "cognitionos kernel": ROOT / "layers" / "kernel" / "python" / "cognitionos",
    }
    clean_rows = {}
    for label, folder in clean.items():
        files = sorted(folder.glob("*.py"))
        flagged = [f"{p.name} {security_fails(p.name, p.read_text())[1]}" for p in files]
        flagged = [f for f in flagged if not f.endswith("[]")]
        clean_rows[f"false positives, {label}"] = f"{len(flagged)} of {len(files)} files {flagged}"
    judged_count = len(caught) + len(missed)
    report(
        "security_stage_corpus",
        {
            "bandit examples judged": f"{len(judged)} ({len(unreadable)} not parsed: {unreadable})",
            "detection (fails where bandit expects medium+)": (
                f"{len(caught)} of {judged_count} = {len(caught) / judged_count:.1%}"
            ),
            "missed": str(missed),
            "failed where bandit expects only low or none": str(false_alarms),
            **clean_rows,
        },
    )
