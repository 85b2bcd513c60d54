"""Inside the sandbox: a pytest plugin (``-p code_validation_pytest``) that writes each
failure, with its traceback's file lines, to ``$CODE_VALIDATION_REPORT`` as JSON.

Only the process pytest started in writes: a test that forks leaves copies of pytest that
finish too. The code under test runs in this same process and could rewrite the report;
the tests stage is as trustworthy as the tests, the sandbox around it is not affected.
"""

import json
import os
from typing import Any

_FIRST_PID = os.getpid()
_failures: list[dict[str, Any]] = []
_counts = {"passed": 0}


def _record(report: Any, when: str) -> None:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    entries = []
    for entry in getattr(getattr(longrepr, "reprtraceback", None), "reprentries", []):
        location = getattr(entry, "reprfileloc", None)
        if location is not None:
            entries.append([str(location.path), location.lineno])
    path, line = (str(crash.path), crash.lineno) if crash else (report.location[0], None)
    message = crash.message if crash else str(longrepr)[-2000:]
    _failures.append(
        {
            "nodeid": report.nodeid,
            "when": when,
            "path": path,
            "line": line,
            "message": message,
            "entries": entries,
        }
    )


def pytest_runtest_logreport(report: Any) -> None:
    if report.failed:
        _record(report, report.when)
    elif report.when == "call" and report.passed:
        _counts["passed"] += 1


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _record(report, "collection")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if os.getpid() != _FIRST_PID:
        return
    with open(os.environ["CODE_VALIDATION_REPORT"], "w", encoding="utf-8") as out:
        json.dump(
            {"exitstatus": int(exitstatus), "passed": _counts["passed"], "failures": _failures}, out
        )
