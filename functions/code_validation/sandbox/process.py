"""One sandboxed subprocess: a stage's tool run on a fresh copy of the submission.

The child gets an empty environment (a handful of fixed variables, no credentials), a fresh
temporary directory as its working directory, home and temp, and rlimits on CPU seconds,
address space, file size, open files and processes; it runs in a session of its own and is
killed, with everything it started, after a wall-clock timeout. Its output goes to an
unnamed file and only the first ``output_bytes`` are read back.

Processes: RLIMIT_NPROC counts the tasks of the child's real uid, and the kernel does not
enforce it for root. As root (the local runner on Linux) each run gets a fresh unprivileged
uid of its own (``uid`` mode): the limit counts only the run's processes, and at the end a
helper with that uid kills every process it has, wherever they went (``kill(-1)``). Not as
root (Lambda) the child keeps the function's uid (``count`` mode): the limit is what that uid
already runs plus the allowance, and the child's process group is killed at the end.

Network: as root the child also gets a network namespace of its own (``unshare``), in which
no interface is up. Elsewhere it does not (``none``): in AWS the function's subnets have no
route out.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import resource
import secrets
import shutil
import signal

# The sandbox exists to run tools and submitted code: fixed argument lists, no shell.
import subprocess  # nosec B404
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CLONE_NEWNET = 0x40000000
# Fresh uids for root's runs, far from any real account's (useradd stops at 60000).
SANDBOX_UID_FIRST = 200_000
SANDBOX_UID_COUNT = 100_000
_POLL_FIRST_S = 0.001
_POLL_MAX_S = 0.02
_KILL_ROUNDS = 100
_GONE_WITHIN_S = 5.0


@dataclass(frozen=True)
class Limits:
    cpu_s: int  # RLIMIT_CPU per process; the hard limit (SIGKILL) one second later
    memory_mb: int  # RLIMIT_AS per process
    wall_s: float  # then the whole run is killed
    file_size_mb: int = 16  # RLIMIT_FSIZE: no file written (output included) grows past it
    open_files: int = 256  # RLIMIT_NOFILE
    processes: int = 32  # RLIMIT_NPROC allowance, threads included
    output_bytes: int = 64_000  # read back from the output


@dataclass(frozen=True)
class Outcome:
    """How the child ended: ``returncode`` (negative: the signal), the output read back, the
    files of its directory afterwards, and what stopped it if the sandbox did."""

    returncode: int
    output: str
    files: dict[str, str]
    seconds: float
    cpu_seconds: float
    timed_out: bool
    results: str | None = None  # the tool's results file, when asked for and written


ProcessMode = Literal["uid", "count"]
NetworkMode = Literal["namespace", "none"]


@dataclass(frozen=True)
class Containment:
    processes: ProcessMode
    network: NetworkMode


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def containment() -> Containment:
    """What this machine allows: root on Linux gets fresh uids and network namespaces."""
    root = os.geteuid() == 0
    network: NetworkMode = "namespace" if root and _can_unshare_network() else "none"
    return Containment("uid" if root else "count", network)


def _can_unshare_network() -> bool:
    # A throwaway child tries it: the parent's own namespace must not change.
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only reports
        code = 0 if _libc().unshare(CLONE_NEWNET) == 0 else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _statuses() -> list[dict[str, str]]:
    """Every process's /proc/<pid>/status, as fields (``Uid``, ``State``, ``Threads``...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = {
            k: v.strip() for k, v in (ln.split(":", 1) for ln in status.splitlines() if ":" in ln)
        }
        fields["Pgid"] = stat.rsplit(")", 1)[1].split()[2]  # after "(comm)": state ppid pgrp
        found.append(fields)
    return found


def live_processes(uid: int | None = None, pgid: int | None = None) -> int:
    """Processes (zombies aside) of the real ``uid``, or of the process group ``pgid``."""
    count = 0
    for fields in _statuses():
        if fields.get("State", "").startswith("Z"):
            continue
        if (uid is not None and int(fields.get("Uid", "-1").split()[0]) == uid) or (
            pgid is not None and int(fields["Pgid"]) == pgid
        ):
            count += 1
    return count


def tasks_of_uid(uid: int) -> int:
    """Threads of every process whose real uid is ``uid``: what RLIMIT_NPROC counts."""
    return sum(
        int(fields.get("Threads", "1"))
        for fields in _statuses()
        if int(fields.get("Uid", "-1").split()[0]) == uid
    )


def run_sandboxed(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: Limits,
    *,
    env: Mapping[str, str],
    read_back: bool = False,
    results_file: str | None = None,
) -> Outcome:
    """Write ``files`` into a fresh directory, run ``argv`` there inside the limits, and
    return how it ended (with the files as they are afterwards when ``read_back``)."""
    mode = containment()
    uid = (
        SANDBOX_UID_FIRST + secrets.randbelow(SANDBOX_UID_COUNT)
        if mode.processes == "uid"
        else None
    )
    workdir = Path(tempfile.mkdtemp(prefix="code-validation-"))
    try:
        _write_files(workdir, files, uid)
        child_env = {**env, "HOME": str(workdir), "TMPDIR": str(workdir)}
        nproc = (
            limits.processes if uid is not None else tasks_of_uid(os.getuid()) + limits.processes
        )
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            process = subprocess.Popen(  # noqa: S603  # nosec B603
                list(argv),
                cwd=workdir,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                close_fds=True,
                start_new_session=True,
                preexec_fn=functools.partial(  # noqa: PLW1509  # only os calls run in the child
                    _enter_sandbox, limits, nproc, uid, mode.network == "namespace"
                ),
            )
            try:
                returncode, cpu_s, timed_out = _wait(process, limits.wall_s)
            finally:
                _kill_everything(process.pid, uid)
            seconds = time.monotonic() - started
            output.seek(0)
            text = output.read(limits.output_bytes).decode("utf-8", "replace")
        after = _read_files(workdir, files) if read_back else dict(files)
        results = _read_results(workdir / results_file) if results_file else None
        return Outcome(returncode, text, after, seconds, cpu_s, timed_out, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_files(workdir: Path, files: Mapping[str, str], uid: int | None) -> None:
    for relative, source in files.items():
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
    if uid is not None:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, uid, uid)


def _read_files(workdir: Path, files: Mapping[str, str]) -> dict[str, str]:
    """The submission's files as the tool left them; only those paths, never new ones."""
    found = {}
    for relative, before in files.items():
        target = workdir / relative
        try:
            if target.is_symlink() or not target.is_file():
                found[relative] = before  # replaced by something else: keep the original
                continue
            found[relative] = target.read_bytes()[: 4 * len(before.encode()) + 4096].decode()
        except (OSError, UnicodeDecodeError):
            found[relative] = before
    return found


def _read_results(path: Path, cap: int = 2_000_000) -> str | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as results:
            return results.read(cap).decode("utf-8", "replace")
    except OSError:
        return None


def _enter_sandbox(limits: Limits, nproc: int, uid: int | None, new_network: bool) -> None:
    """In the child, between fork and exec: limits, namespace, then the unprivileged uid."""
    if new_network and _libc().unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    mib = 1024 * 1024
    for limit, value in (
        (resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1)),
        (resource.RLIMIT_AS, (limits.memory_mb * mib,) * 2),
        (resource.RLIMIT_FSIZE, (limits.file_size_mb * mib,) * 2),
        (resource.RLIMIT_NOFILE, (limits.open_files,) * 2),
        (resource.RLIMIT_NPROC, (nproc,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(limit, value)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _wait(process: subprocess.Popen[bytes], wall_s: float) -> tuple[int, float, bool]:
    """(returncode, CPU seconds of the child, timed out); polls ``wait4`` for its usage."""
    deadline = time.monotonic() + wall_s
    pause = _POLL_FIRST_S
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime, False
        if time.monotonic() >= deadline:
            _kill_group(process.pid)
            os.kill(process.pid, signal.SIGKILL)  # also when it left its group
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime, True
        time.sleep(pause)
        pause = min(pause * 2, _POLL_MAX_S)


def _kill_group(pgid: int) -> None:
    # Gone already (ESRCH), or the id now names someone else's group (EPERM): nothing to do.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_everything(pid: int, uid: int | None) -> None:
    """Nothing the run started outlives it: its session's group, and with a uid of its own
    every process of that uid (a child that left the session too)."""
    _kill_group(pid)
    if uid is None:
        _wait_until_gone(lambda: live_processes(pgid=pid), f"process group {pid}")
        return
    killer = os.fork()
    if killer == 0:  # pragma: no cover - the child only signals
        code = 0
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(_KILL_ROUNDS):
                os.kill(-1, signal.SIGKILL)  # every process this uid may signal but itself
        except ProcessLookupError:
            pass  # ESRCH: none left
        except OSError as exc:
            code = 1 if exc.errno != errno.ESRCH else 0
        os._exit(code)
    _, status = os.waitpid(killer, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"could not kill the processes of sandbox uid {uid}")
    # SIGKILL is delivered asynchronously: return once none of them runs any more.
    _wait_until_gone(lambda: live_processes(uid=uid), f"sandbox uid {uid}")


def _wait_until_gone(count: Callable[[], int], what: str) -> None:
    deadline = time.monotonic() + _GONE_WITHIN_S
    while count():
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of {what} still run {_GONE_WITHIN_S} s after SIGKILL")
        time.sleep(0.005)


PR_SET_DUMPABLE = 4


def protect_own_environment() -> None:
    """Make this process undumpable: a child with the same uid (``count`` mode, Lambda) can
    then neither read ``/proc/<pid>/environ`` (the function's credentials) nor ptrace it."""
    if _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
