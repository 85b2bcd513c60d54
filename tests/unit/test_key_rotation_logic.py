"""One run of the pii-key-rotation job, without AWS: cursor, deadline, pass end."""

from __future__ import annotations

from typing import Any

import pytest

from cognitionos.key_rotation import Outcome, classify
from platform_api.logic.key_rotation import RotationProgress, run_rotation

NEW, OLD, OTHER = "arn:new", "arn:old", "arn:other"


class FakeKeys:
    """Subject keys in order, pages of two; ``rewrap`` moves an OLD item to NEW."""

    current_key = NEW
    previous_key = OLD

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.rewraps = 0

    def page(self, start_after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        ids = [str(i["subject_id"]) for i in self.items]
        start = 0 if start_after is None else ids.index(start_after) + 1
        chunk = self.items[start : start + 2]
        more = start + 2 < len(self.items)
        return chunk, (str(chunk[-1]["subject_id"]) if more and chunk else None)

    def rewrap(self, item: dict[str, Any]) -> Outcome:
        outcome = classify(item, NEW, OLD)
        if outcome is None:
            item["kms_key_id"] = NEW
            self.rewraps += 1
            return Outcome.REWRAPPED
        return outcome


class MemoryStore:
    def __init__(self) -> None:
        self.saved: RotationProgress | None = None

    def load(self, target_key: str) -> RotationProgress | None:
        return self.saved

    def save(self, progress: RotationProgress, updated_at: str) -> None:
        self.saved = progress


def subject(n: int, key: str = OLD) -> dict[str, Any]:
    return {"subject_id": f"cus_{n}", "wrapped_key": b"x", "kms_key_id": key}


def test_a_tombstone_is_skipped_and_a_current_key_left_alone() -> None:
    assert classify({"subject_id": "s", "erased": True}, NEW, OLD) is Outcome.ERASED
    assert classify(subject(1, NEW), NEW, OLD) is Outcome.ALREADY_CURRENT
    assert classify(subject(1, OLD), NEW, OLD) is None
    assert classify(subject(1, OLD), NEW, None) is Outcome.OTHER_KEY


def test_a_run_with_time_for_three_subjects_stops_after_three_and_saves_the_cursor() -> None:
    keys, store = FakeKeys([subject(n) for n in range(5)]), MemoryStore()
    left = iter([100.0, 100.0, 100.0, 100.0, 100.0, 1.0, 1.0])
    tally, progress = run_rotation(keys, store, lambda: next(left), lambda: "t")
    assert (tally.counts[Outcome.REWRAPPED], tally.done, progress.cursor) == (3, False, "cus_2")
    tally, progress = run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert (tally.counts[Outcome.REWRAPPED], tally.done, keys.rewraps) == (2, True, 5)


def test_a_pass_that_met_an_unknown_key_is_not_done_and_starts_over() -> None:
    keys, store = FakeKeys([subject(0), subject(1, OTHER), subject(2)]), MemoryStore()
    tally, progress = run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert (tally.counts[Outcome.OTHER_KEY], tally.done, progress.cursor) == (1, False, None)
    keys.items[1]["kms_key_id"] = OLD  # the operator put it right
    tally, _ = run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert (tally.counts[Outcome.REWRAPPED], tally.counts[Outcome.ALREADY_CURRENT]) == (1, 2)
    assert tally.done


def test_a_done_rotation_is_read_and_left_alone() -> None:
    keys, store = FakeKeys([subject(0)]), MemoryStore()
    run_rotation(keys, store, lambda: 100.0, lambda: "t")
    tally, _ = run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert tally.examined == 0 and tally.done and tally.summary()["remaining"] == 0


def test_a_run_that_dies_mid_pass_is_resumed_from_its_last_full_page() -> None:
    keys, store = FakeKeys([subject(n) for n in range(5)]), MemoryStore()
    real = keys.rewrap

    def dies_on_the_fourth(item: dict[str, Any]) -> Outcome:
        if item["subject_id"] == "cus_3":
            raise RuntimeError("the invocation died")
        return real(item)

    keys.rewrap = dies_on_the_fourth  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="died"):
        run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert store.saved is not None and store.saved.cursor == "cus_1"  # the first page's end
    keys.rewrap = real  # type: ignore[method-assign]
    tally, _ = run_rotation(keys, store, lambda: 100.0, lambda: "t")
    assert tally.counts[Outcome.REWRAPPED] == 2  # cus_2 was done before the crash: current
    assert tally.counts[Outcome.ALREADY_CURRENT] == 1 and tally.done
