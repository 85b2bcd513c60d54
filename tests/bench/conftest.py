"""Benchmarks report ratios against a baseline measured in the same run; they never assert time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, rows: dict[str, Any]) -> None:
    """Print a result table and keep it as JSON under tests/bench/results/."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    width = max(len(k) for k in rows)
    print(f"\n== {name} ==")
    for key, value in rows.items():
        print(f"  {key:<{width}}  {value}")
