"""Operator sign-in rules with no I/O: password hashing, the backoff schedule, CSRF, cookies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from operators.logic.emails import normal_email
from operators.logic.lockout import Attempts, LockoutPolicy
from operators.logic.passwords import (
    WeakPassword,
    check_new_password,
    dummy_hash,
    hash_password,
    hasher,
    needs_rehash,
    verify_password,
)

from cognitionos.sessions import (
    IDLE_TIMEOUT_S,
    SESSION_COOKIE,
    OperatorSession,
    csrf_matches,
    session_cookie,
    token_hash,
)

PASSWORD = "correct horse battery staple"


def test_a_hash_is_an_argon2id_phc_string_at_owasp_parameters() -> None:
    phc = hash_password(PASSWORD)

    algorithm, version, parameters, salt, digest = phc.lstrip("$").split("$")
    assert (algorithm, version, parameters) == ("argon2id", "v=19", "m=19456,t=2,p=1")
    assert len(salt) == 22 and len(digest) == 43  # 16 and 32 bytes, base64 without padding
    assert verify_password(phc, PASSWORD)
    assert not verify_password(phc, PASSWORD + "!")
    assert hash_password(PASSWORD) != phc  # a fresh salt each time


def test_the_dummy_hash_costs_what_a_real_one_does() -> None:
    assert dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not verify_password(dummy_hash(), PASSWORD)


def test_a_malformed_stored_hash_never_verifies() -> None:
    assert not verify_password("not a phc string", PASSWORD)


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"), [(8192, 2), (19 * 1024, 1), (8192, 1)], ids=str
)
def test_a_hash_made_with_lower_parameters_needs_a_rehash(memory_kib: int, time_cost: int) -> None:
    old = hasher(memory_kib=memory_kib, time_cost=time_cost).hash(PASSWORD)
    assert verify_password(old, PASSWORD)  # still verifies with the current hasher
    assert needs_rehash(old)
    assert not needs_rehash(hash_password(PASSWORD))


def test_a_new_password_needs_twelve_characters() -> None:
    with pytest.raises(WeakPassword, match="at least 12"):
        check_new_password("eleven char")
    check_new_password("twelve chars")
    with pytest.raises(WeakPassword, match="at most 1024"):
        check_new_password("x" * 1025)


def test_the_backoff_locks_at_the_threshold_then_doubles_up_to_the_cap() -> None:
    policy = LockoutPolicy(threshold=5, base_s=30, cap_s=900)
    schedule = [policy.lock_seconds(n) for n in range(1, 12)]
    assert schedule == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]


@given(
    threshold=st.integers(1, 20),
    base=st.integers(1, 120),
    extra_cap=st.integers(0, 5000),
    a=st.integers(0, 10_000),
    b=st.integers(0, 10_000),
)
def test_more_failures_never_lock_for_less_and_never_past_the_cap(
    threshold: int, base: int, extra_cap: int, a: int, b: int
) -> None:
    policy = LockoutPolicy(threshold=threshold, base_s=base, cap_s=base + extra_cap)
    low, high = sorted((a, b))
    assert policy.lock_seconds(low) <= policy.lock_seconds(high) <= policy.cap_s
    assert (policy.lock_seconds(high) > 0) == (high >= threshold)


def test_retry_after_counts_down_to_zero() -> None:
    attempts = Attempts(failures=5, locked_until=1030)
    assert [attempts.retry_after(t) for t in (1000, 1029, 1030, 2000)] == [30, 1, 0, 0]


def test_the_csrf_comparison_needs_the_exact_token() -> None:
    assert csrf_matches("abc123", "abc123")
    assert not csrf_matches("abc123", "abc124")
    assert not csrf_matches("abc123", "abc12")
    assert not csrf_matches("abc123", "")
    assert not csrf_matches("abc123", None)
    assert not csrf_matches("", "")


def test_the_session_cookie_is_found_among_others() -> None:
    cookies = ["theme=dark", f"{SESSION_COOKIE}=tok-en_1", "other=1"]
    assert session_cookie(cookies) == "tok-en_1"
    assert session_cookie(["cognitionos_session=x", f"{SESSION_COOKIE}="]) is None
    assert session_cookie(None) is None


def test_the_stored_key_of_a_session_is_its_tokens_sha256() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_session_ends_at_the_sooner_of_idle_and_absolute() -> None:
    session = OperatorSession("op_1", "v1.x", "csrf", 0, 100, 8 * 3600)
    assert session.ends_at() == 100 + IDLE_TIMEOUT_S
    assert session.is_live(100 + IDLE_TIMEOUT_S - 1) and not session.is_live(100 + IDLE_TIMEOUT_S)
    late = OperatorSession("op_1", "v1.x", "csrf", 0, 8 * 3600 - 60, 8 * 3600)
    assert late.ends_at() == 8 * 3600


def test_emails_are_normalised_and_checked() -> None:
    assert normal_email("  Ada@Example.COM ") == "ada@example.com"
    for bad in ("ada", "ada@", "@example.com", "ada@example", "a b@example.com"):
        with pytest.raises(ValueError, match=r"name@example\.com"):
            normal_email(bad)
