"""GET /dashboard through a Powertools resolver, and the page as the package's files make it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.local.apigw import HttpRequest, RouteMatch, build_event, new_request_id
from revenue.dashboard import loader
from revenue.dashboard.loader import DashboardAssetMissing, load_dashboard_page

ROOT = Path(__file__).resolve().parents[2]


def _get_dashboard() -> dict[str, Any]:
    from cognitionos.http import create_resolver
    from revenue.handlers import dashboard_routes

    app = create_resolver()
    app.include_router(dashboard_routes.router)
    request = HttpRequest("GET", "/dashboard", [("host", "127.0.0.1:3000")])
    event = build_event(request, RouteMatch("GET /dashboard", "revenue-api", {}), new_request_id())
    return dict(app.resolve(event, None))


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_route_answers_the_page_with_its_security_headers() -> None:
    response = _get_dashboard()
    headers = response["headers"]
    assert response["statusCode"] == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert response["body"].startswith("<!doctype html>")
    assert "<title>Revenue · CognitionOS</title>" in response["body"]


def test_the_real_page_inlines_exactly_what_its_policy_allows() -> None:
    page = load_dashboard_page()
    scripts = re.findall(r"<script>(.*?)</script>", page.html, flags=re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", page.html, flags=re.DOTALL)
    policy = dict(
        (d.split()[0], d.split()[1:]) for d in page.headers["Content-Security-Policy"].split("; ")
    )
    assert len(scripts) == 2  # Chart.js, then the page script
    assert "Chart.js v" in scripts[0]
    assert policy["script-src"] == [_sha256_source(s) for s in scripts]
    assert policy["style-src"] == [_sha256_source(s) for s in styles]


def test_the_real_page_loads_nothing_from_anywhere() -> None:
    html = load_dashboard_page().html
    markup = re.sub(r"<(script|style)>.*?</\1>", "", html, flags=re.DOTALL)
    styles = "".join(re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL))
    page_script = (loader.DASHBOARD_DIR / "dashboard.js").read_text()
    assert re.search(r"\s(src|href|srcset|action|poster|data)\s*=", markup, re.I) is None
    assert re.search(r"<(link|img|iframe|object|embed|base)\b", markup, re.I) is None
    assert "@import" not in styles
    assert [u for u in re.findall(r"url\(([^)]*)\)", styles) if not u.startswith("data:")] == []
    assert re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page_script, re.I) is None


def test_the_bundled_chart_library_is_the_pinned_version() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["chart.js"]
    bundled = (loader.DASHBOARD_DIR / loader.CHART_LIBRARY).read_text()[:200]
    assert f"Chart.js v{pinned}\n" in bundled, "stale copy: run `make dashboard-assets`"


def test_a_missing_chart_library_names_the_file_and_the_make_target(tmp_path: Path) -> None:
    for name in (loader.TEMPLATE, *loader.STYLES, "dashboard.js"):
        shutil.copy(loader.DASHBOARD_DIR / name, tmp_path / name)
    with pytest.raises(DashboardAssetMissing) as missing:
        load_dashboard_page(tmp_path)
    assert str(tmp_path / "vendor" / "chart.umd.min.js") in str(missing.value)
    assert "make dashboard-assets" in str(missing.value)
