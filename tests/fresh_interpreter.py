"""Running a snippet in a fresh interpreter with the Lambda code on its path, as a new
execution environment would import it (the cold-start tests and benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str) -> str:
    """What ``code`` prints, run by ``python -X frozen_modules=on -c`` from the repo root."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "functions"), str(ROOT / "layers/kernel/python")]
        ),
    }
    out = subprocess.run(
        [sys.executable, "-X", "frozen_modules=on", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return out.stdout.strip()
