"""Reads the dashboard's files from this package once per execution environment."""

from __future__ import annotations

import functools
from pathlib import Path

from revenue.logic.dashboard_page import Asset, DashboardPage, assemble_page

DASHBOARD_DIR = Path(__file__).resolve().parent
TEMPLATE = "index.html"
STYLES = ("dashboard.css",)
# The chart library first: the page script uses its global ``Chart``.
CHART_LIBRARY = "vendor/chart.umd.min.js"
SCRIPTS = (CHART_LIBRARY, "dashboard.js")


class DashboardAssetMissing(FileNotFoundError):
    """A file the page inlines is not in the package (a build step was skipped)."""


def _read(relative: str, directory: Path) -> Asset:
    path = directory / relative
    try:
        return Asset(relative, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if relative == CHART_LIBRARY:
            raise DashboardAssetMissing(
                f"{path} is missing: the chart library is copied there from node_modules by "
                "`make dashboard-assets` (a step of `make run` and `make test`; synth puts it "
                "in the deployed asset itself)"
            ) from None
        raise DashboardAssetMissing(f"{path} is missing from the dashboard package") from None


def load_dashboard_page(directory: Path = DASHBOARD_DIR) -> DashboardPage:
    return assemble_page(
        _read(TEMPLATE, directory),
        [_read(name, directory) for name in STYLES],
        [_read(name, directory) for name in SCRIPTS],
    )


@functools.cache
def dashboard_page() -> DashboardPage:
    """The assembled page, read on the first request of an execution environment."""
    return load_dashboard_page()
