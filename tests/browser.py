"""Headless Chromium for the dashboard tests: Debian's ``chromium`` driven by Playwright.

We never download a browser (``playwright install``): the tests use /usr/bin/chromium, which
``.ci/run`` installs with apt when it is missing. Every page is confined to one origin: any
request elsewhere is aborted and recorded, so a test can assert that nothing left the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's `chromium` package "
            "(apt-get install chromium; .ci/run does it)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
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
