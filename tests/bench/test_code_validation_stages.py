"""Wall time of each validation stage on a small submission, cold (the first validation of
a new execution environment: the interpreter probe, empty caches) and warm (the next ones),
as ratios to a baseline measured in the same run: ``python -c pass`` in the same sandbox
(a fresh uid, rlimits, a network namespace where there is one).

Each sample is a fresh interpreter running three validations; samples are medians of
SAMPLES. docs/CODE_VALIDATION.md quotes the figures.
"""

from __future__ import annotations

import json
import statistics

from tests.bench.conftest import report
from tests.fresh_interpreter import run_fresh

SAMPLES = 3
SUBMISSION = {
    "calc.py": "import os\ndef add(a:int,b:int)->int:\n  return a+b\n",
    "test_calc.py": (
        "from calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"
    ),
}
SCRIPT = f"""
import json, time
from code_validation.sandbox.validator import validate_files
from code_validation.sandbox.process import Limits, run_sandboxed
from code_validation.sandbox import stages
files = {SUBMISSION!r}
runs = []
for _ in range(3):
    result = validate_files(files, 60)
    assert result.passed, result
    runs.append({{s.name: s.seconds for s in result.stages}})
baseline = []
for _ in range(5):
    started = time.perf_counter()
    argv = [stages.python(), "-c", "pass"]
    run_sandboxed(argv, {{}}, Limits(5, 512, 10), env=stages.sandbox_env())
    baseline.append(time.perf_counter() - started)
print(json.dumps({{"runs": runs, "baseline": min(baseline)}}))
"""


def test_each_stage_cold_and_warm_against_python_c_pass_in_the_sandbox() -> None:
    samples = [json.loads(run_fresh(SCRIPT)) for _ in range(SAMPLES)]
    baseline = statistics.median(s["baseline"] for s in samples)
    rows: dict[str, str] = {"baseline: python -c pass in the sandbox": f"{baseline * 1000:.0f} ms"}
    for stage in samples[0]["runs"][0]:
        cold = statistics.median(s["runs"][0][stage] for s in samples)
        warm = statistics.median(w[stage] for s in samples for w in s["runs"][1:])
        rows[stage] = (
            f"cold {cold * 1000:5.0f} ms ({cold / baseline:4.1f}x)   "
            f"warm {warm * 1000:5.0f} ms ({warm / baseline:4.1f}x)"
        )
    cold_total = statistics.median(sum(s["runs"][0].values()) for s in samples)
    warm_total = statistics.median(sum(w.values()) for s in samples for w in s["runs"][1:])
    rows["all six"] = (
        f"cold {cold_total * 1000:5.0f} ms ({cold_total / baseline:4.1f}x)   "
        f"warm {warm_total * 1000:5.0f} ms ({warm_total / baseline:4.1f}x)"
    )
    report("code_validation_stages", rows)
