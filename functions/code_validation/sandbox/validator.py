"""The stages of ``sandbox.stages`` run by ``logic.pipeline`` with this machine's
containment: what the function's handler calls."""

from __future__ import annotations

import time
from collections.abc import Mapping

from code_validation.logic.pipeline import StageRun, validate
from code_validation.models.validation import Sandbox, StageName, ValidationResult
from code_validation.sandbox.process import Limits, containment
from code_validation.sandbox.stages import DEFAULT_LIMITS, STAGES, with_deadline


def validate_files(
    files: Mapping[str, str],
    budget_s: float,
    limits: Mapping[StageName, Limits] = DEFAULT_LIMITS,
) -> ValidationResult:
    """Validate a submission already checked by ``logic.submission.check_submission``."""

    def run_stage(name: StageName, current: dict[str, str], remaining_s: float) -> StageRun:
        outcome = STAGES[name](current, with_deadline(limits[name], remaining_s))
        return StageRun(outcome.failed, outcome.findings, outcome.files)

    mode = containment()
    sandbox = Sandbox(network=mode.network, processes=mode.processes)
    return validate(files, run_stage, time.monotonic, budget_s, sandbox)
