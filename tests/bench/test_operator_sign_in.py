"""Operator sign-in: Argon2id's cost at the chosen parameters against one SHA-256 in the same
run, and the time of an unknown email's answer against a wrong password's (median of 50 each,
interleaved, through the handler under moto), which OWASP wants indistinguishable."""

from __future__ import annotations

import hashlib
import statistics
import time

import pytest

from tests.bench.conftest import report
from tests.integration.conftest import Aws, LambdaContext, aws, context  # noqa: F401
from tests.integration.test_operator_sign_in import create_operator, sign_in

HASHES = 20
SIGN_INS = 50


def median_seconds(action: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_password_hash_time_at_the_chosen_parameters() -> None:
    from operators.logic.passwords import (
        MEMORY_KIB,
        PARALLELISM,
        TIME_COST,
        default_hasher,
        verify_password,
    )

    password = "correct horse battery staple"
    phc = default_hasher().hash(password)
    digest = hashlib.sha256(password.encode())
    sha = median_seconds(lambda: digest.copy().update(password.encode()), 2000)
    argon_hash = median_seconds(lambda: default_hasher().hash(password), HASHES)
    argon_verify = median_seconds(lambda: verify_password(phc, password), HASHES)
    report(
        "operator_password_hash",
        {
            "parameters": f"argon2id m={MEMORY_KIB} KiB, t={TIME_COST}, p={PARALLELISM}",
            "hash_ms (median of 20)": round(argon_hash * 1000, 1),
            "verify_ms (median of 20)": round(argon_verify * 1000, 1),
            "sha256_us (baseline)": round(sha * 1e6, 2),
            "hash / sha256": round(argon_hash / sha),
        },
    )


def test_unknown_email_and_wrong_password_take_the_same_time(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import operators.handlers.wiring as wiring

    create_operator()
    clock = [1_750_000_000.0]
    # Each attempt an hour apart: past any lock, as for a patient caller; both emails count
    # their failures alike (known or not), so both do the same writes.
    monkeypatch.setattr(wiring, "now_s", lambda: clock[0])
    sign_in(context, email="warm-up@example.com")  # cold start: imports, clients, keys
    wrong, unknown = [], []
    for _ in range(SIGN_INS):
        for times, email in ((wrong, "ada@example.com"), (unknown, "nobody@example.com")):
            clock[0] += 3600
            started = time.perf_counter()
            status = sign_in(context, email=email, password="not the password!")[0]
            times.append(time.perf_counter() - started)
            assert status == 401
    wrong_ms, unknown_ms = statistics.median(wrong) * 1000, statistics.median(unknown) * 1000
    report(
        "operator_sign_in_timing",
        {
            "wrong_password_median_ms": round(wrong_ms, 1),
            "unknown_email_median_ms": round(unknown_ms, 1),
            "unknown / wrong": round(unknown_ms / wrong_ms, 3),
            "sign-ins each": SIGN_INS,
        },
    )
