"""Schemathesis against the API's own document on the local runner: every operation of
``/v1/openapi.json`` is called with generated requests, valid and invalid, once without a
key and once with the admin key, and every answer is checked against the document.

Every check runs (``--checks all``) but ``unsupported_method``: it wants 405 for a method no
route declares, where API Gateway, which the runner follows, answers its JSON 404 ``Not
Found`` (docs/API.md, "Errors"); tests/e2e/test_api_contract.py pins that answer. The two
kinds of refusal that depend on state, not on the document, are accepted only where they
are documented (tests/e2e/schemathesis.toml); Stripe's signature is made for each valid
webhook request (tests/e2e/schemathesis_hooks.py).

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

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

E2E_DIR = Path(__file__).resolve().parent
SEED = 20250301  # the same cases every run, so a failure here is one anyone can replay
RUN_TIMEOUT_S = 300


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
    assert all(p["status"] == "success" for p in report["phases"].values()), report["output"]
