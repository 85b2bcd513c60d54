"""Headless Chromium for the dashboard tests, driven by Playwright.

The browser is one already on the machine: Debian's ``chromium`` (``.ci/run`` installs it
with apt when it is missing), Google Chrome, or the build ``python -m playwright install
chromium`` downloads. Without one the run stops at collection with one message saying how
to get one (``tests/conftest.py``), before any test runs. Every page is confined to one
origin: any request elsewhere is aborted and recorded, so a test can assert that nothing
left the machine.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

BROWSER_FIXTURE = "browser"
# Looked for in this order: by name on PATH (Debian's package, then Google Chrome), Chrome's
# macOS app, then Playwright's own build (under PLAYWRIGHT_BROWSERS_PATH when that is set).
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_CHROME = Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
NO_BROWSER = (
    "The dashboard tests need a Chromium-based browser and found none (looked for "
    f"{', '.join(BROWSER_NAMES)} on PATH, Google Chrome, and Playwright's own build). "
    "Install one, then run the tests again: `apt-get install chromium` (Debian; "
    "`.ci/run` does this) or `.venv/bin/python -m playwright install chromium` (any system)."
)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
READY_TIMEOUT_MS = 30_000

# The figures a chart was given: its labels and each dataset's label and data.
CHART_DATA_JS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart) return null;
  return {labels: chart.data.labels,
          datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data}))};
}"""

# How a chart was drawn, as Chart.js resolved its options: each dataset's type, colours and
# (for a line) its segments' shape, the legend's swatches, and the y axis's range.
CHART_DRAWN_JS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart) return null;
  const line = (meta) => meta.dataset ? {
    tension: meta.dataset.options.tension,
    cubicInterpolationMode: meta.dataset.options.cubicInterpolationMode,
    stepped: meta.dataset.options.stepped,
  } : null;
  return {
    datasets: chart.data.datasets.map((d, i) => {
      const meta = chart.getDatasetMeta(i);
      return {label: d.label, type: meta.type, borderColor: d.borderColor,
              backgroundColor: d.backgroundColor, line: line(meta)};
    }),
    legend: chart.legend.legendItems.map((item) => (
      {text: item.text, fill: item.fillStyle, stroke: item.strokeStyle})),
    y: {min: chart.scales.y.min, max: chart.scales.y.max},
  };
}"""


def usd(minor: int) -> str:
    """How the page shows a USD amount in en-US: cents only when there are some."""
    whole, cents = divmod(minor, 100)
    return f"${whole:,}" if cents == 0 else f"${whole:,}.{cents:02d}"


def usd_whole(minor: int) -> str:
    """A USD amount in whole dollars, as the MRR and ARR tiles show it."""
    return f"${(Decimal(minor) / 100).quantize(Decimal(1), ROUND_HALF_UP):,}"


def percent(fraction: float, places: int = 1) -> str:
    """As Intl.NumberFormat rounds: the exact value of the double, ties away from zero."""
    value = (Decimal(fraction) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{value}%"


def playwright_chromium() -> Path:
    """Where ``python -m playwright install chromium`` puts the build this Playwright drives."""
    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path)


def find_chromium(names: Iterable[str], paths: Iterable[Path]) -> Path | None:
    """The first browser found: ``names`` on PATH, then ``paths``, as executables."""
    on_path = (shutil.which(name) for name in names)
    for candidate in [*(Path(found) for found in on_path if found), *paths]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@functools.cache
def chromium() -> Path:
    """The browser the dashboard tests drive; a UsageError (pytest stops) if there is none."""
    found = find_chromium(BROWSER_NAMES, [MACOS_CHROME, playwright_chromium()])
    if found is None:
        raise pytest.UsageError(NO_BROWSER)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable))
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class ConfinedPage:
    """A page that may only talk to ``origin``; what it tried elsewhere and what it logged."""

    page: Page
    origin: str
    outside_requests: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def chart(self, canvas_id: str) -> dict[str, Any]:
        data = self.page.evaluate(CHART_DATA_JS, canvas_id)
        assert data is not None, f"no chart was drawn on #{canvas_id}"
        return dict(data)

    def drawn(self, canvas_id: str) -> dict[str, Any]:
        drawn = self.page.evaluate(CHART_DRAWN_JS, canvas_id)
        assert drawn is not None, f"no chart was drawn on #{canvas_id}"
        return dict(drawn)

    def dataset(self, canvas_id: str, label: str) -> list[Any]:
        [found] = [d["data"] for d in self.chart(canvas_id)["datasets"] if d["label"] == label]
        return list(found)

    def kpi(self, name: str) -> str:
        return self.page.inner_text(f"[data-kpi={name}] .kpi-value")

    def session_key(self) -> str | None:
        value = self.page.evaluate("() => sessionStorage.getItem('cognitionos.revenue.apiKey')")
        return None if value is None else str(value)

    def open_with_key(self, key: str, expect_state: str = "ready") -> None:
        self.page.goto(f"{self.origin}/dashboard")
        self.page.fill("#api-key", key)
        self.page.click("button[type=submit]")
        self.wait_for_state(expect_state)

    def wait_for_state(self, state: str) -> None:
        self.page.wait_for_selector(f"body[data-state='{state}']", timeout=READY_TIMEOUT_MS)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def confined_page(browser: Browser, origin: str, viewport: dict[str, int]) -> ConfinedPage:
    """A fresh context (empty sessionStorage) in US English, UTC, without animations."""
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        locale="en-US",
        timezone_id="UTC",
        reduced_motion="reduce",
    )
    page = context.new_page()
    confined = ConfinedPage(page, origin)

    def route(route: Route) -> None:
        if route.request.url.startswith(f"{origin}/"):
            route.continue_()
        else:
            confined.outside_requests.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            confined.console_errors.append(message.text)

    def request(request: Request) -> None:
        confined.requests.append(request)

    page.route("**/*", route)
    page.on("request", request)
    page.on("console", console)
    page.on("pageerror", lambda error: confined.console_errors.append(str(error)))
    return confined
