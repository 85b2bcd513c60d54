"""The six stages' commands, each run by ``process.run_sandboxed`` and read by
``logic.findings``. The tools come from this function's own layer (or the local venv)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from code_validation.logic.findings import (
    UnreadableReport,
    bandit_findings,
    fails,
    fixed_findings,
    mypy_findings,
    pytest_findings,
    ruff_findings,
    syntax_findings,
    tool_failure,
)
from code_validation.logic.limits import Ending, limit_finding
from code_validation.models.validation import Finding, StageName
from code_validation.sandbox.process import Limits, Outcome, containment, run_sandboxed

INSIDE = Path(__file__).resolve().parent / "inside"
TOOLS = ("ruff", "mypy", "bandit", "pytest")
# Lint: pyflakes, the error-prone parts of pycodestyle, bugbear, isort, pyupgrade.
LINT_RULES = "F,E4,E7,E9,B,I,UP"
TARGET_VERSION = "py311"
LINE_LENGTH = 100  # what the formatter aims for
MAX_LINE_LENGTH = 120  # past this, a line the formatter could not wrap fails the stage
REPORT = ".code-validation-report.json"

# Per stage, the production limits; tests pass smaller ones.
DEFAULT_LIMITS: dict[StageName, Limits] = {
    "syntax": Limits(cpu_s=5, memory_mb=512, wall_s=10),
    "lint": Limits(cpu_s=10, memory_mb=1024, wall_s=10),
    "format": Limits(cpu_s=10, memory_mb=1024, wall_s=10),
    "types": Limits(cpu_s=20, memory_mb=2048, wall_s=20),
    "security": Limits(cpu_s=15, memory_mb=1024, wall_s=15),
    "tests": Limits(cpu_s=10, memory_mb=1024, wall_s=15),
}


@dataclass(frozen=True)
class StageOutcome:
    failed: bool
    findings: list[Finding]
    files: dict[str, str]


Stage = Callable[[dict[str, str], Limits], StageOutcome]


@functools.cache
def tool_paths() -> tuple[str, ...]:
    """Where the tools' packages are (the layer's /opt/python, or the venv's site-packages),
    and the inside helpers: the sandbox's whole PYTHONPATH."""
    found = [str(INSIDE)]
    for tool in TOOLS:
        spec = importlib.util.find_spec(tool)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"the {tool} package is not installed for the sandbox")
        found.append(str(Path(spec.origin).resolve().parents[1]))
    return tuple(dict.fromkeys(found))


@functools.cache
def ruff_binary() -> str:
    from ruff import find_ruff_bin  # type: ignore[import-untyped]  # noqa: PLC0415

    return str(find_ruff_bin())


def sandbox_env() -> dict[str, str]:
    """The child's whole environment: no credential, token or endpoint of the function."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": ":".join(tool_paths()),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per arena otherwise
        "RAYON_NUM_THREADS": "2",  # ruff's threads count against the process limit
        "NO_COLOR": "1",
        "CODE_VALIDATION_REPORT": REPORT,
        # Only the report plugin: the layer's other pytest plugins would slow every start.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


@functools.cache
def python() -> str:
    """An interpreter the sandbox's uid can run with the tools: this one, unless it lives
    where an unprivileged uid cannot reach (a root-only home), then the system's of the same
    version (the tools' compiled parts need only the same major.minor)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    probe = Limits(cpu_s=10, memory_mb=1024, wall_s=20)
    for candidate in dict.fromkeys(candidates):
        if not Path(candidate).exists():
            continue
        argv = [candidate, "-c", "import mypy, bandit, pytest; print('ok')"]
        try:
            outcome = run_sandboxed(argv, {}, probe, env=sandbox_env())
        except PermissionError:
            continue  # the sandbox's uid may not run it
        if outcome.returncode == 0 and outcome.output.strip() == "ok":
            return candidate
    raise RuntimeError(f"no interpreter the sandbox can run among {candidates}")


def _ending(outcome: Outcome, limits: Limits) -> Ending:
    return Ending(
        returncode=outcome.returncode,
        timed_out=outcome.timed_out,
        cpu_seconds=outcome.cpu_seconds,
        output=outcome.output + (outcome.results or ""),
        cpu_limit_s=limits.cpu_s,
        memory_limit_mb=limits.memory_mb,
        wall_limit_s=limits.wall_s,
        file_size_limit_mb=limits.file_size_mb,
        process_limit=limits.processes,
        open_files_limit=limits.open_files,
    )


def _run(
    argv: list[str],
    files: dict[str, str],
    limits: Limits,
    *,
    normal: tuple[int, ...] = (0,),
    read_back: bool = False,
    results_file: str | None = None,
    failures_may_be_limits: bool = False,
) -> tuple[Outcome, Finding | None]:
    """Run a tool; the finding is the limit that stopped it, if one did. A tool that ended
    abnormally (a signal, a code it never uses for findings) is looked at for a limit, and
    so are failing tests (a test's MemoryError is the sandbox's doing)."""
    outcome = run_sandboxed(
        argv, files, limits, env=sandbox_env(), read_back=read_back, results_file=results_file
    )
    abnormal = outcome.timed_out or outcome.returncode not in normal
    if abnormal or (failures_may_be_limits and outcome.returncode != 0):
        return outcome, limit_finding(_ending(outcome, limits))
    return outcome, None


def python_files(files: Mapping[str, str]) -> list[str]:
    return sorted(path for path in files if path.endswith(".py"))


def syntax(files: dict[str, str], limits: Limits) -> StageOutcome:
    sources = python_files(files)
    if not sources:
        return StageOutcome(False, [], files)
    # The checker takes paths only; a checked path never starts with '-'.
    argv = [python(), "-I", "-S", str(INSIDE / "syntax_check.py"), *sources]
    outcome, stopped = _run(argv, files, limits)
    if stopped or outcome.returncode != 0:
        return _stopped(stopped, "syntax", outcome, files)
    findings = syntax_findings(outcome.output)
    return StageOutcome(bool(findings), findings, files)


def lint(files: dict[str, str], limits: Limits) -> StageOutcome:
    sources = python_files(files)
    if not sources:
        return StageOutcome(False, [], files)
    base = [ruff_binary(), "check", "--isolated", "--no-cache", "--select", LINT_RULES]
    base += ["--target-version", TARGET_VERSION, "--output-format", "json", "--exit-zero"]
    before, stopped = _run([*base, "--", *sources], files, limits)
    if stopped or before.returncode != 0:
        return _stopped(stopped, "ruff", before, files)
    after, stopped = _run([*base, "--fix", "--", *sources], files, limits, read_back=True)
    if stopped or after.returncode != 0:
        return _stopped(stopped, "ruff", after, files)
    remaining = ruff_findings(after.output, files)
    fixed = fixed_findings(ruff_findings(before.output, files, "info"), remaining)
    return StageOutcome(fails(remaining), remaining + fixed, after.files)


def format_(files: dict[str, str], limits: Limits) -> StageOutcome:
    """ruff format at LINE_LENGTH, then what it could not fix: a line still over
    MAX_LINE_LENGTH (a long string, a long name) fails the stage as E501."""
    sources = python_files(files)
    if not sources:
        return StageOutcome(False, [], files)
    argv = [ruff_binary(), "format", "--isolated", "--no-cache", "--line-length"]
    argv += [str(LINE_LENGTH), "--target-version", TARGET_VERSION, "--", *sources]
    outcome, stopped = _run(argv, files, limits, read_back=True)
    if stopped or outcome.returncode != 0:
        return _stopped(stopped, "ruff-format", outcome, files)
    reformatted = [
        Finding(rule="format", path=path, line=None, message="reformatted", severity="info")
        for path in sources
        if outcome.files[path] != files[path]
    ]
    check = [ruff_binary(), "check", "--isolated", "--no-cache", "--select", "E501"]
    check += ["--line-length", str(MAX_LINE_LENGTH), "--output-format", "json", "--exit-zero"]
    long_lines, stopped = _run([*check, "--", *sources], outcome.files, limits)
    if stopped or long_lines.returncode != 0:
        return _stopped(stopped, "ruff", long_lines, files)
    left = ruff_findings(long_lines.output, files)
    return StageOutcome(fails(left), left + reformatted, outcome.files)


def types(files: dict[str, str], limits: Limits) -> StageOutcome:
    sources = python_files(files)
    if not sources:
        return StageOutcome(False, [], files)
    argv = [python(), "-m", "mypy", "--config-file", str(INSIDE / "mypy.ini")]
    argv += ["--cache-dir", ".mypy_cache", "--output", "json", "--no-error-summary"]
    argv += ["--", *sources]
    outcome, stopped = _run(argv, files, limits, normal=(0, 1))
    if stopped or outcome.returncode not in (0, 1):
        return _stopped(stopped, "mypy", outcome, files)
    findings = _read(lambda: mypy_findings(outcome.output, files), "mypy", outcome)
    return StageOutcome(fails(findings) or outcome.returncode != 0, findings, files)


def security(files: dict[str, str], limits: Limits) -> StageOutcome:
    sources = python_files(files)
    if not sources:
        return StageOutcome(False, [], files)
    argv = [python(), "-m", "bandit", "-f", "json", "-q", "--ignore-nosec", *sources]
    outcome, stopped = _run(argv, files, limits, normal=(0, 1))
    if stopped or outcome.returncode not in (0, 1):
        return _stopped(stopped, "bandit", outcome, files)
    findings = _read(lambda: bandit_findings(outcome.output, files), "bandit", outcome)
    return StageOutcome(fails(findings), findings, files)


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def tests(files: dict[str, str], limits: Limits) -> StageOutcome:
    test_files = sorted(path for path in files if is_test_file(path))
    if not test_files:
        return StageOutcome(False, [], files)
    argv = [python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p"]
    argv += ["code_validation_pytest", "--rootdir", ".", "--", *test_files]
    outcome, stopped = _run(
        argv,
        files,
        limits,
        normal=(0, 1, 5),
        results_file=REPORT,
        failures_may_be_limits=True,
    )
    # 0: all passed; 1: some failed; 5: none collected (a file of helpers only).
    if stopped or outcome.returncode not in (0, 1, 5) or outcome.results is None:
        return _stopped(stopped, "pytest", outcome, files)
    results = outcome.results
    findings = _read(lambda: pytest_findings(results, files), "pytest", outcome)
    return StageOutcome(outcome.returncode == 1 or fails(findings), findings, files)


def _read(parse: Callable[[], list[Finding]], tool: str, outcome: Outcome) -> list[Finding]:
    try:
        return parse()
    except (UnreadableReport, KeyError, TypeError) as exc:
        return [tool_failure(tool, outcome.returncode, f"{exc}\n{outcome.output}")]


def _stopped(
    stopped: Finding | None, tool: str, outcome: Outcome, files: dict[str, str]
) -> StageOutcome:
    """A stage a limit stopped, or whose tool ended without a report: failed, one finding."""
    return StageOutcome(
        True, [stopped or tool_failure(tool, outcome.returncode, outcome.output)], files
    )


STAGES: dict[StageName, Stage] = {
    "syntax": syntax,
    "lint": lint,
    "format": format_,
    "types": types,
    "security": security,
    "tests": tests,
}


def with_deadline(limits: Limits, remaining_s: float) -> Limits:
    """A stage's limits, its wall clock cut to the time the validation has left."""
    return replace(limits, wall_s=max(0.5, min(limits.wall_s, remaining_s)))


__all__ = ["DEFAULT_LIMITS", "STAGES", "StageOutcome", "containment", "with_deadline"]
