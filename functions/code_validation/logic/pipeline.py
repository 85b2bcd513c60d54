"""The six stages in order, cheapest first: each runs on the files as the previous stages
left them (lint and format fix what they safely can), and after the first failed stage the
rest are skipped. Pure: the stages and the clock come in as functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from code_validation.models.validation import (
    STAGE_NAMES,
    Finding,
    Sandbox,
    StageName,
    StageResult,
    ValidationResult,
)

# A stage given less than this is not started: it could not finish anyway.
MIN_STAGE_S = 0.5


@dataclass(frozen=True)
class StageRun:
    failed: bool
    findings: list[Finding]
    files: dict[str, str]


# (stage name, the files now, seconds the validation has left) -> how the stage went
RunStage = Callable[[StageName, dict[str, str], float], StageRun]


def validate(
    files: Mapping[str, str],
    run_stage: RunStage,
    clock: Callable[[], float],
    budget_s: float,
    sandbox: Sandbox,
) -> ValidationResult:
    current = dict(files)
    results: list[StageResult] = []
    started = clock()
    failed = False
    for name in STAGE_NAMES:
        if failed:
            results.append(StageResult(name=name, status="skipped", seconds=0, findings=[]))
            continue
        stage_started = clock()
        remaining = budget_s - (stage_started - started)
        if remaining < MIN_STAGE_S:
            run = StageRun(True, [out_of_time(budget_s)], current)
        else:
            run = run_stage(name, current, remaining)
        current = run.files
        failed = run.failed
        results.append(
            StageResult(
                name=name,
                status="failed" if run.failed else "passed",
                seconds=round(clock() - stage_started, 3),
                findings=run.findings,
            )
        )
    return ValidationResult(passed=not failed, stages=results, files=current, sandbox=sandbox)


def out_of_time(budget_s: float) -> Finding:
    return Finding(
        rule="limit.timeout",
        path=None,
        line=None,
        message=f"not started: the validation's {budget_s:g} s were spent by earlier stages",
        severity="error",
    )
