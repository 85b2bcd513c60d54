"""The refusal windows: at most one report per reason a minute, and every refusal in
exactly one report once the next window opens."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from cognitionos.audit.windows import RejectionWindows

REASONS = ["signature_mismatch", "missing_signature", "stale_timestamp"]


def test_the_first_refusal_is_reported_and_the_next_waits_a_minute() -> None:
    windows = RejectionWindows()
    first = windows.refused("signature_mismatch", 100.0)
    assert first is not None and (first.count, first.since) == (1, 100.0)
    windows.written(first, 100.0)
    assert windows.refused("signature_mismatch", 130.0) is None
    assert windows.refused("signature_mismatch", 159.0) is None
    other = windows.refused("missing_signature", 159.5)  # each reason its own window
    assert other is not None and other.count == 1
    later = windows.refused("signature_mismatch", 160.0)
    assert later is not None and (later.count, later.since) == (3, 130.0)


def test_a_report_that_failed_is_carried_and_tried_a_window_later() -> None:
    windows = RejectionWindows()
    report = windows.refused("stale_timestamp", 0.0)
    assert report is not None
    windows.failed(report, 0.0)
    assert windows.refused("stale_timestamp", 1.0) is None  # not one write per refusal
    retry = windows.refused("stale_timestamp", 60.0)
    assert retry is not None and retry.count == 3
    windows.written(retry, 60.0)
    assert windows.suppressed() == {}


@given(
    st.lists(
        st.tuples(st.sampled_from(REASONS), st.floats(0, 30), st.booleans()),
        min_size=1,
        max_size=300,
    )
)
def test_reports_are_bounded_and_their_counts_add_up(
    refusals: list[tuple[str, float, bool]],
) -> None:
    windows = RejectionWindows()
    now = 0.0
    sent: Counter[str] = Counter()
    reported: Counter[str] = Counter()
    reports: Counter[str] = Counter()
    for reason, gap, store_fails in refusals:
        now += gap
        sent[reason] += 1
        report = windows.refused(reason, now)
        if report is None:
            continue
        reports[reason] += 1
        if store_fails:
            windows.failed(report, now)
        else:
            windows.written(report, now)
            reported[reason] += report.count
    # One at a reason's first refusal, then at most one a minute.
    assert all(count <= 1 + now // 60 for count in reports.values())
    assert reported + Counter(windows.suppressed()) == sent
