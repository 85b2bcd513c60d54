"""What re-wrapping costs under moto: subjects per second and AWS calls per subject for the
pii-key-rotation job, against a baseline in the same run (a cold keyring unwrapping each
subject's data key once, as readers do), and the calls of a run once everything is current."""

from __future__ import annotations

import time

import pytest

from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.integration.conftest import Aws, aws  # noqa: F401
from tests.integration.test_pii_key_rotation import run_job, start_rotation

SUBJECTS = 300


def test_rewrap_cost_per_subject(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    rotation = start_rotation(aws, monkeypatch, subjects=SUBJECTS)
    ring = rotation.keyring()
    started = time.perf_counter()
    with count_aws_calls() as read_calls:
        for subject, token in rotation.tokens.items():
            ring.decrypt(subject, "email", token)
    unwrap_s = time.perf_counter() - started

    started = time.perf_counter()
    with count_aws_calls() as job_calls:
        summary = run_job()
    rewrap_s = time.perf_counter() - started
    assert (summary["rewrapped"], summary["done"]) == (SUBJECTS, True)

    rotation.aws.table("key-rotations").delete_item(Key={"target_key_id": rotation.new_key})
    with count_aws_calls() as again_calls:
        again = run_job()  # a whole second pass: every subject already current
    assert again["already_current"] == SUBJECTS
    with count_aws_calls() as done_calls:
        run_job()  # the rotation done: one read

    def per(calls: dict[str, int], prefix: str) -> float:
        return round(sum(n for op, n in calls.items() if op.startswith(prefix)) / SUBJECTS, 3)

    report(
        "key_rotation",
        {
            "subjects": SUBJECTS,
            "rewrap_subjects_per_s": round(SUBJECTS / rewrap_s, 1),
            "unwrap_subjects_per_s (baseline)": round(SUBJECTS / unwrap_s, 1),
            "rewrap_time / unwrap_time": round(rewrap_s / unwrap_s, 2),
            "kms_calls_per_subject (rewrap)": per(job_calls, "kms."),
            "dynamodb_calls_per_subject (rewrap)": per(job_calls, "dynamodb."),
            "kms_calls_per_subject (baseline)": per(read_calls, "kms."),
            "calls (rewrap run)": dict(job_calls),
            "kms_calls_per_subject (second pass)": per(again_calls, "kms."),
            "calls (a run once done)": dict(done_calls),
        },
    )
