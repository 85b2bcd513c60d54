"""Cold start of the webhook function: its module import against a bare ``import boto3``.

Each sample is a fresh interpreter (as a new Lambda execution environment), measured from
inside it so interpreter start-up noise cancels out; samples alternate to share machine load.
"""

from __future__ import annotations

import statistics

from tests.bench.conftest import report
from tests.fresh_interpreter import run_fresh

SAMPLES = 21
TARGET_RATIO = 2.5
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _import_seconds(module: str) -> float:
    return float(run_fresh(PROBE.format(module=module)))


def test_ingest_import_against_bare_boto3() -> None:
    for module in ("boto3", "billing.handlers.ingest_webhook"):  # warm the file cache once
        _import_seconds(module)
    baseline, ingest = [], []
    for _ in range(SAMPLES):
        baseline.append(_import_seconds("boto3"))
        ingest.append(_import_seconds("billing.handlers.ingest_webhook"))
    base_ms, ingest_ms = statistics.median(baseline) * 1000, statistics.median(ingest) * 1000
    report(
        "ingest_cold_start",
        {
            "samples": SAMPLES,
            "import boto3 (median ms)": round(base_ms, 1),
            "import ingest handler (median ms)": round(ingest_ms, 1),
            "ratio": round(ingest_ms / base_ms, 2),
            "target ratio": TARGET_RATIO,
        },
    )
