"""Cold start of each model provider: importing it and building its client, and the price
table's first lookup, against a bare ``import boto3``.

Each sample is a fresh interpreter (a new Lambda execution environment), timed from inside
it; samples alternate so that they share the machine's load.
"""

from __future__ import annotations

import statistics

from tests.bench.conftest import report
from tests.fresh_interpreter import run_fresh

SAMPLES = 9
TIMED = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
BASELINE = "import boto3"
PROVIDERS = {
    "openai (openai SDK)": (
        "from agents.dal.llm.openai import OpenAIProvider; "
        "OpenAIProvider('m', 'http://127.0.0.1:9/v1', None)"
    ),
    "anthropic (anthropic SDK)": (
        "from agents.dal.llm.anthropic import AnthropicProvider; "
        "AnthropicProvider('m', 'k', 'http://127.0.0.1:9')"
    ),
    "bedrock (boto3 client)": (
        "import os; os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1'); "
        "from agents.dal.llm.bedrock import read_timeout_s; from cognitionos import aws; "
        "aws.client('bedrock-runtime', read_timeout_s=read_timeout_s(300)[0])"
    ),
    "replay": (
        "from pathlib import Path; from agents.dal.llm.replay import ReplayProvider, "
        "load_recording; ReplayProvider(load_recording(Path('events/agents/replay-run.json')))"
    ),
    "genai-prices first lookup": (
        "from agents.logic.pricing import price_of; price_of('gpt-4o-mini', 'openai')"
    ),
}


def _seconds(code: str) -> float:
    return float(run_fresh(TIMED.format(code=code)))


def test_provider_cold_start_against_bare_boto3() -> None:
    for code in (BASELINE, *PROVIDERS.values()):  # warm the file cache once
        _seconds(code)
    samples: dict[str, list[float]] = {name: [] for name in ("import boto3", *PROVIDERS)}
    for _ in range(SAMPLES):
        samples["import boto3"].append(_seconds(BASELINE))
        for name, code in PROVIDERS.items():
            samples[name].append(_seconds(code))
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    base = medians["import boto3"]
    rows: dict[str, object] = {"samples": SAMPLES, "import boto3 (median ms)": round(base, 1)}
    for name in PROVIDERS:
        rows[f"{name} (median ms)"] = round(medians[name], 1)
        rows[f"{name} (ratio)"] = round(medians[name] / base, 2)
    report("agents_provider_cold_start", rows)
