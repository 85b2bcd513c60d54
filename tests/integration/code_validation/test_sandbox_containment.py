"""The sandbox holds: a submission whose tests loop, fork, allocate 10 GB, write 1 GB, read
the function's credentials or connect to 127.0.0.1 fails its stage inside a limit named in
its one finding, nothing it started outlives it, and the next validation works normally.

Limits are small here (2 CPU seconds, 512 MB, 16 processes, 8 MB files, 6 s) so each case
takes seconds; each case's wall time is printed (``-s``) and recorded in
docs/CODE_VALIDATION.md.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from code_validation.sandbox import process, stages
from code_validation.sandbox.process import SANDBOX_UID_FIRST, Limits, containment, live_processes

SMALL = Limits(cpu_s=2, memory_mb=512, wall_s=6, file_size_mb=8, open_files=64, processes=16)
PASSING = {"test_ok.py": "def test_ok() -> None:\n    assert 1 + 1 == 2\n"}


@pytest.fixture(autouse=True)
def run_uids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The uids this test's runs got (uid mode): only theirs are checked, so tests running
    at the same time on another worker do not count."""
    drawn: list[int] = []
    choose = process.secrets.randbelow

    def recorded(bound: int) -> int:
        value = choose(bound)
        drawn.append(SANDBOX_UID_FIRST + value)
        return value

    monkeypatch.setattr(process.secrets, "randbelow", recorded)
    return drawn


def left_running(uids: list[int]) -> int:
    return sum(live_processes(uid=uid) for uid in uids)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def run_tests_stage(source: str) -> tuple[stages.StageOutcome, float]:
    started = time.monotonic()
    outcome = stages.tests({"test_case.py": source}, SMALL)
    return outcome, time.monotonic() - started


def assert_contained(
    outcome: stages.StageOutcome, rules: set[str], seconds: float, uids: list[int]
) -> None:
    print(f"{outcome.findings[0].rule if outcome.findings else None}: {seconds:.2f} s")
    assert outcome.failed
    [finding] = outcome.findings
    assert finding.rule in rules, finding
    assert left_running(uids) == 0  # nothing it started runs on
    after = stages.tests(PASSING, SMALL)  # and the next validation is its normal self
    assert (after.failed, after.findings) == (False, [])


LOOP = "def test_loop() -> None:\n    while True:\n        pass\n"
SLEEP = "import time\n\n\ndef test_sleep() -> None:\n    while True:\n        time.sleep(0.1)\n"
FORK_BOMB = "import os\n\n\ndef test_fork() -> None:\n    while True:\n        os.fork()\n"
# Catches the refusal and keeps forking: only the CPU and wall-clock limits end it.
STUBBORN_FORK_BOMB = (
    "import os\n\n\ndef test_fork() -> None:\n    while True:\n        try:\n"
    "            os.fork()\n        except OSError:\n            pass\n"
)
ALLOCATE_10_GB = (
    "def test_allocate() -> None:\n    data = bytearray(10 * 1024**3)\n    assert data\n"
)
WRITE_1_GB = (
    "def test_write() -> None:\n    with open('big.bin', 'wb') as out:\n"
    "        for _ in range(1024):\n            out.write(b'x' * 1024 * 1024)\n"
)
# Leaves the session and waits: killing the session's group would miss it.
ESCAPE = (
    "import os\nimport time\n\n\ndef test_escape() -> None:\n    if os.fork() == 0:\n"
    "        os.setsid()\n        time.sleep(60)\n    time.sleep(60)\n"
)


def test_an_infinite_loop_is_stopped_by_the_cpu_limit(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(LOOP, {"limit.cpu"}), run_uids)


def test_a_sleeping_loop_is_stopped_by_the_wall_clock(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(SLEEP, {"limit.timeout"}), run_uids)


def test_a_fork_bomb_is_stopped_by_the_process_limit(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(FORK_BOMB, {"limit.processes"}), run_uids)


def test_a_fork_bomb_that_ignores_the_refusal_ends_with_the_run(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(STUBBORN_FORK_BOMB, {"limit.timeout", "limit.cpu"}), run_uids)


def test_a_10_gb_allocation_is_refused_by_the_memory_limit(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(ALLOCATE_10_GB, {"limit.memory"}), run_uids)


def test_a_1_gb_file_is_cut_by_the_file_size_limit(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(WRITE_1_GB, {"limit.file_size"}), run_uids)


@pytest.mark.skipif(containment().processes != "uid", reason="needs root: a uid per run")
def test_a_process_that_left_the_session_is_killed_with_the_run(run_uids: list[int]) -> None:
    assert_contained(*_with_rules(ESCAPE, {"limit.timeout"}), run_uids)


def test_the_functions_credentials_are_not_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-functions-own-secret")
    source = (
        "import os\n\n\ndef test_secret() -> None:\n"
        "    print(os.environ['AWS_SECRET_ACCESS_KEY'])\n"
    )
    outcome, seconds = run_tests_stage(source)
    print(f"secret: {seconds:.2f} s")
    [finding] = outcome.findings
    assert finding.message.endswith("KeyError: 'AWS_SECRET_ACCESS_KEY'")
    assert "the-functions-own-secret" not in repr(outcome)


@pytest.mark.skipif(containment().network != "namespace", reason="no network namespace here")
def test_a_tcp_connect_to_loopback_finds_no_network(listener: int) -> None:
    source = (
        "import socket\n\n\ndef test_connect() -> None:\n"
        f"    socket.create_connection(('127.0.0.1', {listener}), timeout=2).close()\n"
    )
    outcome, seconds = run_tests_stage(source)
    print(f"tcp: {seconds:.2f} s")
    [finding] = outcome.findings
    assert "Network is unreachable" in finding.message
    assert (finding.path, finding.line) == ("test_case.py", 5)


def test_the_files_come_back_unchanged_whatever_the_tests_write() -> None:
    source = "def test_write() -> None:\n    open(__file__, 'w').write('gone')\n"
    outcome = stages.tests({"test_case.py": source}, SMALL)
    assert outcome.files == {"test_case.py": source}


def _with_rules(source: str, rules: set[str]) -> tuple[stages.StageOutcome, set[str], float]:
    outcome, seconds = run_tests_stage(source)
    return outcome, rules, seconds
