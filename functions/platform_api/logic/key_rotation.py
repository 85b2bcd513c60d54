"""One run of the pii-key-rotation job: continue the pass over the subject-keys table from
the stored cursor, re-wrapping each subject's data key under the current PII key, until the
table ends or the time left runs short.

No AWS here: the subject keys (``cognitionos.key_rotation.SubjectKeyRewrapper``), the stored
progress (``platform_api.dal.key_rotations``) and the time left are passed in.

A pass is done when it reaches the end of the table having seen no subject on a key it may
not re-wrap; a pass that saw one starts again from the start next run (after the operator
has put things right), so ``done`` means every subject is on the current key or erased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cognitionos.key_rotation import Outcome

# A re-wrap is one KMS ReEncrypt and one DynamoDB write; never start one with less left.
SECONDS_PER_SUBJECT = 2.0
# Saving the progress at the end (one PutItem) and answering.
SECONDS_TO_FINISH = 2.0


@dataclass(frozen=True)
class RotationProgress:
    """A rotation's stored state: the pass under way, or the finished one."""

    target_key: str
    source_key: str | None
    pass_started_at: str
    cursor: str | None = None  # the last subject examined in this pass; None: from the start
    saw_other_key: bool = False
    done: bool = False
    done_at: str | None = None


@dataclass
class RunTally:
    """What one run did, for its summary and its audit entry."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    done: bool = False

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    @property
    def examined(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        found: dict[str, Any] = {outcome.value: n for outcome, n in self.counts.items()}
        # Subjects still to re-wrap: none once done; unknown before the pass ends (counting
        # them would read the whole table again).
        found["remaining"] = 0 if self.done else None
        found["done"] = self.done
        return found


class SubjectKeys(Protocol):
    @property
    def current_key(self) -> str: ...

    @property
    def previous_key(self) -> str | None: ...

    def page(self, start_after: str | None) -> tuple[list[dict[str, Any]], str | None]: ...

    def rewrap(self, item: dict[str, Any]) -> Outcome: ...


class ProgressStore(Protocol):
    def load(self, target_key: str) -> RotationProgress | None: ...

    def save(self, progress: RotationProgress, updated_at: str) -> None: ...


def run_rotation(
    keys: SubjectKeys,
    progress_store: ProgressStore,
    seconds_left: Callable[[], float],
    clock: Callable[[], str],
) -> tuple[RunTally, RotationProgress]:
    """Continue (or start) the pass towards ``keys.current_key``; the run's tally and the
    progress it stored. A finished rotation is read and left alone."""
    tally = RunTally()
    progress = progress_store.load(keys.current_key) or RotationProgress(
        target_key=keys.current_key, source_key=keys.previous_key, pass_started_at=clock()
    )
    if progress.done:
        tally.done = True
        return tally, progress
    cursor = progress.cursor
    saw_other_key = progress.saw_other_key
    table_ended = False
    while seconds_left() >= SECONDS_PER_SUBJECT + SECONDS_TO_FINISH:
        items, next_start = keys.page(cursor)
        stopped_early = False
        for item in items:
            if seconds_left() < SECONDS_PER_SUBJECT + SECONDS_TO_FINISH:
                stopped_early = True
                break
            outcome = keys.rewrap(item)
            tally.add(outcome)
            saw_other_key = saw_other_key or outcome is Outcome.OTHER_KEY
            cursor = str(item["subject_id"])
        if stopped_early:
            break
        if next_start is None:
            table_ended = True
            break
        cursor = next_start
        # Kept after each page: a run that dies (not one that stops) loses one page at most.
        progress_store.save(replace(progress, cursor=cursor, saw_other_key=saw_other_key), clock())
    progress = _after_run(progress, cursor, saw_other_key, table_ended, clock())
    progress_store.save(progress, clock())
    tally.done = progress.done
    return tally, progress


def _after_run(
    progress: RotationProgress, cursor: str | None, saw_other_key: bool, table_ended: bool, at: str
) -> RotationProgress:
    if not table_ended:
        return replace(progress, cursor=cursor, saw_other_key=saw_other_key)
    if saw_other_key:  # not done: the next run looks at every subject again
        return replace(progress, cursor=None, saw_other_key=False, pass_started_at=at)
    return replace(progress, cursor=None, saw_other_key=False, done=True, done_at=at)
