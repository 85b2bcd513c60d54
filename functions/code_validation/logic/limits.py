"""Which sandbox limit stopped a stage, read from how its process ended and what it said.

The kernel reports a limit in one of two ways: a signal (SIGXCPU past the CPU seconds,
SIGKILL at the hard CPU limit or the wall-clock timeout) or a failed system call that Python
turns into an exception the tool prints (MemoryError when RLIMIT_AS refuses an allocation,
EFBIG past RLIMIT_FSIZE since Python ignores SIGXFSZ, EAGAIN from fork past RLIMIT_NPROC,
EMFILE past RLIMIT_NOFILE).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from code_validation.models.validation import Finding

# (rule, what the output says when the limit refused a system call)
_SAID: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("limit.memory", ("MemoryError", "Cannot allocate memory", "memory allocation of")),
    ("limit.file_size", ("[Errno 27] File too large",)),
    (
        "limit.processes",
        ("[Errno 11] Resource temporarily unavailable", "can't start new thread"),
    ),
    ("limit.open_files", ("[Errno 24] Too many open files",)),
)


@dataclass(frozen=True)
class Ending:
    """How a stage's process ended, and the limits it ran under."""

    returncode: int
    timed_out: bool
    cpu_seconds: float
    output: str
    cpu_limit_s: int
    memory_limit_mb: int
    wall_limit_s: float
    file_size_limit_mb: int
    process_limit: int
    open_files_limit: int


def limit_finding(ending: Ending) -> Finding | None:
    """The one finding of a stage a limit stopped, or None if no limit did."""
    rule = _limit_rule(ending)
    if rule is None:
        return None
    return Finding(
        rule=rule, path=None, line=None, message=_message(rule, ending), severity="error"
    )


def _limit_rule(ending: Ending) -> str | None:
    if ending.timed_out:
        return "limit.timeout"
    if ending.returncode == -signal.SIGXCPU or (
        ending.returncode == -signal.SIGKILL and ending.cpu_seconds >= ending.cpu_limit_s
    ):
        return "limit.cpu"
    if ending.returncode == -signal.SIGXFSZ:
        return "limit.file_size"
    for rule, phrases in _SAID:
        if any(phrase in ending.output for phrase in phrases):
            return rule
    return None


def _message(rule: str, ending: Ending) -> str:
    return {
        "limit.timeout": f"stopped: the stage ran past its {ending.wall_limit_s:g} s "
        "wall-clock limit and was killed with everything it started",
        "limit.cpu": f"stopped: a process used its {ending.cpu_limit_s} CPU seconds "
        "(RLIMIT_CPU) and was killed",
        "limit.memory": f"stopped: an allocation went past the {ending.memory_limit_mb} MB "
        "address-space limit (RLIMIT_AS)",
        "limit.file_size": f"stopped: a file grew past the {ending.file_size_limit_mb} MB "
        "file-size limit (RLIMIT_FSIZE)",
        "limit.processes": f"stopped: a fork or thread went past the {ending.process_limit} "
        "process limit (RLIMIT_NPROC)",
        "limit.open_files": f"stopped: a process went past the {ending.open_files_limit} "
        "open-files limit (RLIMIT_NOFILE)",
    }[rule]
