"""Schemathesis against the API's own document on the local runner: every operation of
``/v1/openapi.json`` is called with generated requests, valid and invalid, once without a
key and once with the admin key, and every answer is checked against the document.

Every check runs (``--checks all``) but ``unsupported_method``: it wants 405 for a method no
route declares, where API Gateway, which the runner follows, answers its JSON 404 ``Not
Found`` (docs/API.md, "Errors"); tests/e2e/test_api_contract.py pins that answer. The two
kinds of refusal that depend on state, not on the document, are accepted only where they
are documented (tests/e2e/schemathesis.toml); Stripe's signature is made for each valid
webhook request (tests/e2e/schemathesis_hooks.py).

Without a key, every operation that takes one answers 401 before it reads the request, so
that run is shallower: no coverage phase (about 1,650 boundary and negative cases, two
thirds of its time, each answered the same 401) and 5 examples per operation, not 15. Its
examples, fuzzing (valid and invalid requests) and stateful phases still call every
operation; the operations that need no key get the full depth and the coverage phase in
the run with the admin key, whose header they do not read.

The runner is one of its own: what Schemathesis creates, and any key it revokes, stays there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Runner

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.long]

E2E_DIR = Path(__file__).resolve().parent
SEED = 20250301  # the same cases every run, so a failure here is one anyone can replay
# A hung run fails instead of stalling CI; the admin-key run takes about 240 s on a loaded
# 2-core machine (38 operations, 15 examples per operation and phase).
RUN_TIMEOUT_S = 480
PHASES = ("examples", "coverage", "fuzzing", "stateful")
EXAMPLES_WITHOUT_A_KEY = 5  # per operation and phase; tests/e2e/schemathesis.toml says 15


@pytest.fixture(scope="module")
def own_runner(start_runner: Callable[[str], AbstractContextManager[Runner]]) -> Iterator[Runner]:
    with start_runner("schemathesis") as running:
        yield running


def schemathesis(runner: Runner, report_dir: Path, key: str | None) -> dict[str, Any]:
    """Run the CLI against the runner's document; its JSON report."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(E2E_DIR / "schemathesis.toml"),
        "run",
        f"{runner.url}/v1/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "unsupported_method",
        "--seed",
        str(SEED),
        # One worker: Hypothesis's lambda descriptions are not thread-safe on Python 3.11
        # (a SystemError from ast.parse, reported as an error of the run).
        "--workers",
        "1",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    if key is not None:
        command += ["--header", f"Authorization: Bearer {key}"]
    else:
        command += [  # shallower without a key: see the docstring
            "--phases",
            ",".join(p for p in PHASES if p != "coverage"),
            "--max-examples",
            str(EXAMPLES_WITHOUT_A_KEY),
        ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "COGNITION_E2E_WEBHOOK_SECRET": runner.webhook_secret,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        command,
        cwd=report_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    [report_path] = report_dir.glob("*.json")
    report: dict[str, Any] = json.loads(report_path.read_text())
    report["output"] = done.stdout + done.stderr
    return report


@pytest.mark.parametrize("with_key", [False, True], ids=["without a key", "with the admin key"])
def test_every_answer_is_the_documented_one(
    own_runner: Runner, tmp_path: Path, with_key: bool
) -> None:
    report = schemathesis(own_runner, tmp_path, own_runner.admin_key if with_key else None)

    cases = report["test_cases"]
    print(
        f"schemathesis {report['schemathesis_version']}, seed {report['seed']}: "
        f"{cases['generated']} cases in {report['running_time']:.0f} s, "
        f"{cases['with_failures']} failed"
    )
    assert report["operations"]["tested"] == report["operations"]["total"], report["output"]
    assert (report["failures"], report["errors"]) == ([], []), report["output"]
    assert report["exit_code"] == 0, report["output"]
    skipped = set() if with_key else {"coverage"}
    assert {name: p["status"] for name, p in report["phases"].items()} == {
        name: "skip" if name in skipped else "success" for name in PHASES
    }, report["output"]
