"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT / "functions", ROOT / "layers" / "kernel" / "python", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# In Lambda these exist before any handler module is imported; Powertools reads them at
# import, so they are set before the first test imports one.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CognitionOSTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "test")


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first (see below); then, without a browser for the dashboard
    tests, stop before the first test: one message saying how to get one, instead of an
    error for each of those tests deep in the run."""
    # `make test` (-n 2 --dist worksteal) gives each worker half of the tests in this order,
    # and a worker that runs out takes the end of the other's queue. A test of minutes near
    # the end would be the run's tail, one worker busy and the other idle; at the front, it
    # runs while the other worker's queue and the stolen short tests fill in around it.
    # A stable sort: every worker collects the same order, as xdist requires.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
    from tests.browser import BROWSER_FIXTURE, chromium

    if not any(BROWSER_FIXTURE in getattr(item, "fixturenames", ()) for item in items):
        return
    try:
        chromium()
    except pytest.UsageError as missing:
        if not hasattr(session.config, "workerinput"):
            raise
        # An xdist worker: a UsageError there is an internal error without its message. A
        # worker that collected nothing and asks to stop makes the controller end the run
        # with "Interrupted: <message>", once, whichever workers ask.
        session.shouldstop = str(missing)
        items.clear()
