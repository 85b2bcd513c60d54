"""What a validation answers: one result per stage, in order, and the files after fixes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

StageName = Literal["syntax", "lint", "format", "types", "security", "tests"]
STAGE_NAMES: tuple[StageName, ...] = ("syntax", "lint", "format", "types", "security", "tests")
StageStatus = Literal["passed", "failed", "skipped"]
# Tools' own levels, and bandit's: a fixed finding is "info"; "error" fails its stage.
Severity = Literal["info", "low", "medium", "high", "error"]
MAX_FILES = 20
MAX_FILE_BYTES = 100_000
# What the document says of a path (logic/submission.py checks it, and names the problem):
# relative, of [A-Za-z0-9_./-], no empty, "." or ".." part, no part starting with "-".
PATH_PATTERN = (
    r"^(?!/)(?!.*(?:^|/)\.{1,2}(?:/|$))(?!.*//)(?!-)(?!.*/-)[A-Za-z0-9_./-]+"
    r"\.(?:py|toml|cfg|ini|txt|json)$"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(Strict):
    rule: str = Field(
        description="The tool's code (`F401`, `B602`, `arg-type`), `syntax`, `format`, "
        "`test` for a failing test, or `limit.<name>` when a sandbox limit stopped the stage",
        examples=["F401"],
    )
    path: str | None = Field(description="The submission's file, when one is to blame")
    line: int | None = Field(description="1-based line in that file, when known")
    message: str = Field(examples=["`os` imported but unused"])
    severity: Severity


class StageResult(Strict):
    name: StageName
    status: StageStatus
    seconds: float = Field(ge=0, description="Wall time of the stage, 0 when skipped")
    findings: list[Finding]


class Sandbox(Strict):
    """How this environment contained the code (docs/CODE_VALIDATION.md)."""

    network: Literal["namespace", "none"] = Field(
        description="`namespace`: each stage ran in a network namespace of its own with no "
        "interface up; `none`: not here (in AWS the function's subnets have no route out)"
    )
    processes: Literal["uid", "count"] = Field(
        description="`uid`: each stage ran as a fresh unprivileged uid with RLIMIT_NPROC; "
        "`count`: as the function's own uid, RLIMIT_NPROC above the processes it already has"
    )


class ValidationResult(Strict):
    passed: bool = Field(description="True when all six stages passed")
    stages: list[StageResult]
    files: dict[str, str] = Field(description="Every file of the submission after the fixes")
    sandbox: Sandbox


SubmittedFiles = Annotated[
    dict[str, str],
    Field(
        min_length=1,
        max_length=MAX_FILES,
        description=f"Relative path -> source. At most {MAX_FILES} files of "
        f"{MAX_FILE_BYTES:,} bytes (UTF-8) each; paths of `[A-Za-z0-9_./-]` ending in .py, "
        ".toml, .cfg, .ini, .txt or .json, never leaving the submission.",
        examples=[{"app.py": "def add(a: int, b: int) -> int:\n    return a + b\n"}],
        json_schema_extra={"propertyNames": {"pattern": PATH_PATTERN, "maxLength": 200}},
    ),
]


class ValidationRequest(Strict):
    files: SubmittedFiles
