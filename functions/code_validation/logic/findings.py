"""Tools' reports read into findings: ruff's and bandit's JSON, mypy's JSON lines, the pytest
plugin's report, the syntax checker's list. Pure: text in, findings out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from code_validation.models.validation import Finding, Severity

# bandit's severities; medium or higher fails the security stage.
BANDIT_SEVERITY: dict[str, Severity] = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
FAILING: frozenset[str] = frozenset({"medium", "high", "error"})
MAX_MESSAGE_CHARS = 2000


class UnreadableReport(ValueError):
    """A tool's report is not what the tool writes: the stage cannot be judged."""


def submission_path(reported: str, paths: Iterable[str]) -> str | None:
    """The submission's path a tool reported (absolute, or relative to the run's folder)."""
    reported = reported.removeprefix("./")
    best: str | None = None
    for path in paths:
        if (reported == path or reported.endswith("/" + path)) and (
            best is None or len(path) > len(best)
        ):
            best = path
    return best


def fails(findings: Iterable[Finding]) -> bool:
    return any(finding.severity in FAILING for finding in findings)


def _load(text: str, tool: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise UnreadableReport(f"{tool} wrote no JSON report: {text[:500]!r}") from None


def _clip(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."


def syntax_findings(text: str) -> list[Finding]:
    """The syntax checker's ``[{"path", "line", "message"}]``."""
    return [
        Finding(
            rule="syntax",
            path=item["path"],
            line=item["line"],
            message=_clip(item["message"]),
            severity="error",
        )
        for item in _load(text, "the syntax check")
    ]


def ruff_findings(text: str, paths: Iterable[str], severity: Severity = "error") -> list[Finding]:
    """``ruff check --output-format json``: one finding per violation."""
    known = list(paths)
    return [
        Finding(
            rule=item.get("code") or "ruff",
            path=submission_path(item.get("filename", ""), known),
            line=(item.get("location") or {}).get("row"),
            message=_clip(item.get("message", "")),
            severity=severity,
        )
        for item in _load(text or "[]", "ruff")
    ]


def fixed_findings(before: list[Finding], after: list[Finding]) -> list[Finding]:
    """What the fixes removed, as information: ``before`` minus ``after`` by (rule, path)."""
    left: dict[tuple[str, str | None], int] = {}
    for finding in after:
        key = (finding.rule, finding.path)
        left[key] = left.get(key, 0) + 1
    fixed = []
    for finding in before:
        key = (finding.rule, finding.path)
        if left.get(key):
            left[key] -= 1
            continue
        fixed.append(
            finding.model_copy(update={"message": f"fixed: {finding.message}", "severity": "info"})
        )
    return fixed


def mypy_findings(text: str, paths: Iterable[str]) -> list[Finding]:
    """``mypy --output json``: one JSON object per line; anything else is mypy's own trouble."""
    known = list(paths)
    found = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        item = _load(line, "mypy")
        message = item.get("message", "")
        if item.get("hint"):
            message = f"{message} ({item['hint']})"
        found.append(
            Finding(
                rule=item.get("code") or "mypy",
                path=submission_path(item.get("file", ""), known),
                line=item.get("line") if isinstance(item.get("line"), int) else None,
                message=_clip(message),
                severity="error" if item.get("severity") == "error" else "info",
            )
        )
    return found


def bandit_findings(text: str, paths: Iterable[str]) -> list[Finding]:
    """``bandit -f json``: results (rule = test id) and files it could not read."""
    known = list(paths)
    report = _load(text, "bandit")
    found = [
        Finding(
            rule=item["test_id"],
            path=submission_path(item.get("filename", ""), known),
            line=item.get("line_number"),
            message=_clip(
                f"{item.get('issue_text', '')} "
                f"(confidence {str(item.get('issue_confidence', '?')).lower()})"
            ),
            severity=BANDIT_SEVERITY.get(item.get("issue_severity", ""), "high"),
        )
        for item in report.get("results", [])
    ]
    found.extend(
        Finding(
            rule="bandit",
            path=submission_path(error.get("filename", ""), known),
            line=None,
            message=_clip(f"bandit could not scan the file: {error.get('reason', '')}"),
            severity="error",
        )
        for error in report.get("errors", [])
    )
    return found


def pytest_findings(text: str, paths: Iterable[str]) -> list[Finding]:
    """The report of ``sandbox/inside/code_validation_pytest.py``: one finding per failure,
    at the deepest traceback line inside the submission."""
    known = list(paths)
    report = _load(text, "pytest")
    found = []
    for failure in report.get("failures", []):
        path, line = None, None
        for entry_path, entry_line in reversed(failure.get("entries", [])):
            path = submission_path(entry_path, known)
            if path:
                line = entry_line
                break
        if path is None:
            path = submission_path(failure.get("path", ""), known)
            line = failure.get("line")
        where = "" if failure.get("when") == "call" else f" (during {failure.get('when')})"
        found.append(
            Finding(
                rule="test",
                path=path,
                line=line,
                message=_clip(f"{failure.get('nodeid', '?')}{where}: {failure.get('message', '')}"),
                severity="error",
            )
        )
    return found


def tool_failure(tool: str, returncode: int, output: str) -> Finding:
    """A tool that ended without its report (a crash, a usage error)."""
    return Finding(
        rule=tool,
        path=None,
        line=None,
        message=_clip(f"{tool} ended with code {returncode}: {output.strip()[-1500:]}"),
        severity="error",
    )
