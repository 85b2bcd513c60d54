"""Code validation's pure parts: the submission rules, the tools' reports read into findings,
the limit a stage's ending names, and the pipeline's order and skipping."""

from __future__ import annotations

import json
import signal
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_validation.logic.findings import (
    bandit_findings,
    fixed_findings,
    mypy_findings,
    pytest_findings,
    ruff_findings,
    submission_path,
)
from code_validation.logic.limits import Ending, limit_finding
from code_validation.logic.pipeline import StageRun, validate
from code_validation.logic.submission import InvalidSubmission, check_submission
from code_validation.models.validation import STAGE_NAMES, Finding, Sandbox

SANDBOX = Sandbox(network="namespace", processes="uid")


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({}, "has no files"),
        ({f"m{i}.py": "" for i in range(21)}, "21 files; at most 20"),
        ({"a.py": "x" * 100_001}, "100001 bytes; at most 100000"),
        ({"a.py": "é" * 50_001}, "100002 bytes"),  # bytes of UTF-8, not characters
        ({"../a.py": ""}, "leaves the submission"),
        ({"a/../../b.py": ""}, "leaves the submission"),
        ({"/a.py": ""}, "absolute"),
        ({"a\x00.py": ""}, "NUL"),
        ({"a b.py": ""}, "outside [A-Za-z0-9_./-]"),
        ({"a\\b.py": ""}, "outside [A-Za-z0-9_./-]"),
        ({"a.sh": ""}, "must end in one of"),
        ({"a//b.py": ""}, "empty or '.'"),
        ({"./a.py": ""}, "empty or '.'"),
        ({"-rf.py": ""}, "starts with '-'"),
        ({"a.py": "\ud800"}, "not valid UTF-8"),
        ({"pkg.py": "", "pkg.py/x.py": ""}, "both a file and a folder"),
    ],
)
def test_a_broken_rule_is_named(files: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidSubmission, match=None) as refused:
        check_submission(files)
    assert problem in str(refused.value)


def test_twenty_files_of_the_largest_size_in_folders_are_accepted() -> None:
    files = {f"pkg/sub_{i}/mod-{i}.py": "#" * 100_000 for i in range(20)}
    files["pkg/sub_0/mod-0.py"] = "x = 1\n"
    check_submission(files)
    check_submission({"pyproject.toml": "", "data.json": "{}", "a/b.cfg": "", "r.txt": ""})


@given(st.text(alphabet="ab./", min_size=1, max_size=12))
def test_an_accepted_path_never_leaves_the_submission(path: str) -> None:
    candidate = f"{path}.py"
    try:
        check_submission({candidate: ""})
    except InvalidSubmission:
        return
    parts = candidate.split("/")
    assert not candidate.startswith("/") and ".." not in parts and "" not in parts


def test_a_reported_path_maps_to_the_longest_submission_path() -> None:
    paths = ["a.py", "pkg/a.py"]
    assert submission_path("/tmp/code-validation-x/pkg/a.py", paths) == "pkg/a.py"
    assert submission_path("./a.py", paths) == "a.py"
    assert submission_path("/usr/lib/python3.11/os.py", paths) is None


def test_ruff_findings_and_what_the_fixes_removed() -> None:
    before = json.dumps(
        [
            {
                "code": "F401",
                "message": "`os` imported but unused",
                "filename": "/w/a.py",
                "location": {"row": 1},
            },
            {
                "code": "F821",
                "message": "Undefined name `y`",
                "filename": "/w/a.py",
                "location": {"row": 3},
            },
        ]
    )
    after = json.dumps([json.loads(before)[1]])
    remaining = ruff_findings(after, ["a.py"])
    fixed = fixed_findings(ruff_findings(before, ["a.py"], "info"), remaining)
    assert [(f.rule, f.line, f.severity) for f in remaining] == [("F821", 3, "error")]
    assert [(f.rule, f.message, f.severity) for f in fixed] == [
        ("F401", "fixed: `os` imported but unused", "info")
    ]


def test_mypy_json_lines_errors_fail_and_notes_inform() -> None:
    lines = "\n".join(
        [
            json.dumps(
                {
                    "file": "a.py",
                    "line": 2,
                    "message": "Bad",
                    "hint": None,
                    "code": "arg-type",
                    "severity": "error",
                }
            ),
            json.dumps(
                {
                    "file": "a.py",
                    "line": 2,
                    "message": "See",
                    "hint": None,
                    "code": None,
                    "severity": "note",
                }
            ),
            "mypy: some chatter",
        ]
    )
    found = mypy_findings(lines, ["a.py"])
    assert [(f.rule, f.severity) for f in found] == [("arg-type", "error"), ("mypy", "info")]


def test_bandit_results_keep_their_test_id_and_severity() -> None:
    report = {
        "results": [
            {
                "test_id": "B602",
                "filename": "./a.py",
                "line_number": 4,
                "issue_text": "shell=True",
                "issue_severity": "HIGH",
                "issue_confidence": "HIGH",
            },
            {
                "test_id": "B101",
                "filename": "./t.py",
                "line_number": 1,
                "issue_text": "assert",
                "issue_severity": "LOW",
                "issue_confidence": "HIGH",
            },
        ],
        "errors": [],
    }
    found = bandit_findings(json.dumps(report), ["a.py", "t.py"])
    assert [(f.rule, f.path, f.line, f.severity) for f in found] == [
        ("B602", "a.py", 4, "high"),
        ("B101", "t.py", 1, "low"),
    ]


def test_a_test_failure_is_placed_at_the_deepest_submission_line() -> None:
    report = {
        "failures": [
            {
                "nodeid": "t.py::test_x",
                "when": "call",
                "path": "/usr/lib/os.py",
                "line": 9,
                "message": "BlockingIOError",
                "entries": [["t.py", 5], ["m.py", 3], ["/usr/lib/os.py", 9]],
            }
        ]
    }
    [found] = pytest_findings(json.dumps(report), ["t.py", "m.py"])
    assert (found.rule, found.path, found.line) == ("test", "m.py", 3)


def ending(**changes: object) -> Ending:
    values: dict[str, object] = {
        "returncode": 1,
        "timed_out": False,
        "cpu_seconds": 0.1,
        "output": "",
        "cpu_limit_s": 2,
        "memory_limit_mb": 512,
        "wall_limit_s": 5.0,
        "file_size_limit_mb": 8,
        "process_limit": 16,
        "open_files_limit": 64,
    }
    values.update(changes)
    return Ending(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"timed_out": True, "returncode": -signal.SIGKILL}, "limit.timeout"),
        ({"returncode": -signal.SIGXCPU}, "limit.cpu"),
        ({"returncode": -signal.SIGKILL, "cpu_seconds": 3.0}, "limit.cpu"),
        ({"returncode": -signal.SIGXFSZ}, "limit.file_size"),
        ({"output": "OSError: [Errno 27] File too large"}, "limit.file_size"),
        ({"output": "E   MemoryError"}, "limit.memory"),
        (
            {"output": "BlockingIOError: [Errno 11] Resource temporarily unavailable"},
            "limit.processes",
        ),
        ({"output": "OSError: [Errno 24] Too many open files"}, "limit.open_files"),
        ({"output": "assert 1 == 2"}, None),
    ],
)
def test_the_limit_is_named_from_how_the_stage_ended(changes: dict, rule: str | None) -> None:
    found = limit_finding(ending(**changes))
    assert (found.rule if found else None) == rule


def failing_at(name: str):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def run(stage: str, files: dict[str, str], remaining: float) -> StageRun:
        seen.append(stage)
        finding = Finding(rule="x", path=None, line=None, message="m", severity="error")
        return StageRun(stage == name, [finding] if stage == name else [], {**files, stage: ""})

    return run, seen


@given(st.sampled_from(STAGE_NAMES))
def test_stages_run_in_order_until_the_first_failure_and_the_rest_are_skipped(name: str) -> None:
    run, seen = failing_at(name)
    clock = count()
    result = validate({"a.py": ""}, run, lambda: float(next(clock)), 1000, SANDBOX)
    index = STAGE_NAMES.index(name)
    assert seen == list(STAGE_NAMES[: index + 1])
    assert [s.status for s in result.stages] == (
        ["passed"] * index + ["failed"] + ["skipped"] * (5 - index)
    )
    assert result.passed is False
    # Each stage saw the files as the previous stages left them.
    assert set(result.files) == {"a.py", *STAGE_NAMES[: index + 1]}


def test_a_stage_with_no_time_left_fails_as_a_timeout() -> None:
    run, seen = failing_at("none")
    ticks = iter([0.0, 0.0, 9.8, 9.8, 9.8, 9.8])
    result = validate({"a.py": ""}, run, lambda: next(ticks), 10, SANDBOX)
    assert seen == ["syntax"]
    assert result.stages[1].findings[0].rule == "limit.timeout"
    assert [s.status for s in result.stages][1:3] == ["failed", "skipped"]
