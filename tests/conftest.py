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
    """Without a browser for the dashboard tests, stop before the first test: one message
    saying how to get one, instead of an error for each of those tests deep in the run."""
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
