"""Where a reconcile sweep starts."""

from __future__ import annotations

from billing.logic.reconcile import FIRST_SWEEP_LOOKBACK_S, SWEEP_OVERLAP_S, sweep_start

NOW = 1_800_000_000


def test_a_first_sweep_looks_back_thirty_days() -> None:
    assert sweep_start(None, NOW) == NOW - FIRST_SWEEP_LOOKBACK_S


def test_later_sweeps_overlap_the_last_by_an_hour() -> None:
    assert sweep_start(NOW - 7200, NOW) == NOW - 7200 - SWEEP_OVERLAP_S


def test_a_long_pause_never_reaches_past_stripes_thirty_days() -> None:
    assert sweep_start(NOW - 90 * 86400, NOW) == NOW - FIRST_SWEEP_LOOKBACK_S
