"""Validating the Python in a task's output (runs created with ``validate_code``).

Pure: the step runner passes the output's fenced Python blocks as files to the code
validator (the ``code-validate`` function: syntax, lint, format, types, security, tests),
then puts the fixed code back in place of each block and keeps a short summary on the task,
which the evaluation and the next refinement read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A fenced block tagged python or py: ```python\n...\n```
_FENCE = re.compile(r"```(?:python|py)[ \t]*\n(.*?)```", re.DOTALL)
MAX_FINDINGS = 5  # the summary's findings; the evaluation needs the first few, not all
MAX_FILES = 20  # the validator's own limit on files per submission


@dataclass(frozen=True)
class CodeValidation:
    """What validating one output found: kept on its task."""

    passed: bool
    blocks: int
    failed_stage: str | None = None
    findings: tuple[str, ...] = ()  # "B602 block_1.py:3 subprocess call with shell=True"
    fixed: bool = False  # lint or format changed a block

    def summary(self) -> str:
        """One line for a prompt."""
        fixed = ", auto-fixed" if self.fixed else ""
        if self.passed:
            return f"code validation passed ({self.blocks} Python block(s){fixed})"
        found = "; ".join(self.findings) or "no details"
        return f"code validation failed at {self.failed_stage}{fixed}: {found}"


def code_files(output: str) -> dict[str, str]:
    """The output's Python blocks as validator files, ``block_1.py`` onwards (at most 20)."""
    blocks = _FENCE.findall(output)[:MAX_FILES]
    return {f"block_{index}.py": code for index, code in enumerate(blocks, start=1)}


def refused(message: str) -> dict[str, Any]:
    """The validator's refusal of a submission (a block over its size limit: nothing ran),
    as a result whose one failed stage, ``input``, names the problem."""
    finding = {"rule": "input", "path": "", "line": 0, "message": message}
    return {
        "passed": False,
        "stages": [{"name": "input", "status": "failed", "findings": [finding]}],
    }


def apply_validation(output: str, result: Mapping[str, Any]) -> tuple[str, CodeValidation]:
    """The output with each block replaced by its fixed code, and the summary.

    ``result`` is the validator's answer: ``{"passed", "stages": [{"name", "status",
    "findings": [{"rule", "path", "line", "message", ...}]}], "files": {path: source}}``.
    """
    fixed_files: Mapping[str, str] = result.get("files") or {}
    blocks = code_files(output)
    count = 0
    changed = False

    def replace_block(match: re.Match[str]) -> str:
        nonlocal count, changed
        count += 1
        original = match.group(1)
        fixed = fixed_files.get(f"block_{count}.py", original)
        if count > MAX_FILES or fixed == original:
            return match.group(0)
        changed = True
        return match.group(0).replace(original, fixed if fixed.endswith("\n") else fixed + "\n")

    new_output = _FENCE.sub(replace_block, output)
    failed = next((s for s in result.get("stages", []) if s.get("status") == "failed"), None)
    findings = tuple(_finding(f) for f in (failed or {}).get("findings", [])[:MAX_FINDINGS])
    validation = CodeValidation(
        passed=bool(result.get("passed")),
        blocks=len(blocks),
        failed_stage=str(failed["name"]) if failed else None,
        findings=findings,
        fixed=changed,
    )
    return new_output, validation


def _finding(finding: Mapping[str, Any]) -> str:
    """``B602 block_1.py:5 <message>``; without a location, ``<rule> <message>``."""
    where = f" {finding['path']}:{finding.get('line', '?')}" if finding.get("path") else ""
    return f"{finding.get('rule', '?')}{where} {finding.get('message', '')}"
