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


def _share_botocore_data_loader() -> None:
    """One botocore data loader for every boto3 Session the tests make.

    The kernel makes each client and table resource from a new Session (once per execution
    environment in Lambda), and tests forget those clients before and after each test, as a
    new environment would. A new Session gets a new loader, which parses the service model
    and endpoint JSON files again: ~135 ms per Session and resource against ~29 ms with the
    loader shared. The loader only reads botocore's own files and keeps what it parsed; the
    clients, their settings and every moto backend stay new.
    """
    import botocore.session
    from botocore.loaders import Loader, create_loader

    loaders: dict[str | None, Loader] = {}

    def register_data_loader(self: botocore.session.Session) -> None:
        def shared() -> Loader:
            data_path = self.get_config_variable("data_path")
            if data_path not in loaders:
                loaders[data_path] = create_loader(data_path)
            return loaders[data_path]

        self._components.lazy_register_component("data_loader", shared)

    botocore.session.Session._register_data_loader = register_data_loader  # type: ignore[method-assign]


_share_botocore_data_loader()


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
