"""Assembling the dashboard page: what is inlined is exactly what the policy allows."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revenue.logic.dashboard_page import (
    SCRIPTS_SLOT,
    STYLES_SLOT,
    Asset,
    DashboardPage,
    assemble_page,
)

TEMPLATE = Asset(
    "index.html",
    f"<!doctype html><html><head>{STYLES_SLOT}</head><body><main></main>{SCRIPTS_SLOT}</body>"
    "</html>",
)
CSS = Asset("dashboard.css", "main { color: #123; }")
LIB = Asset("vendor/chart.js", "window.Chart = function Chart() {};\n")
APP = Asset("dashboard.js", "new Chart(document.querySelector('canvas'));")


def directive(page: DashboardPage, name: str) -> list[str]:
    policy = page.headers["Content-Security-Policy"]
    [found] = [d.split()[1:] for d in policy.split("; ") if d.split()[0] == name]
    return found


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def blocks(html: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)


def test_each_inline_block_is_allowed_by_its_own_hash_and_nothing_else_is() -> None:
    page = assemble_page(TEMPLATE, [CSS], [LIB, APP])
    scripts, styles = blocks(page.html, "script"), blocks(page.html, "style")
    assert [s.strip() for s in scripts] == [LIB.text.strip(), APP.text.strip()]
    assert directive(page, "script-src") == [sha256_source(s) for s in scripts]
    assert directive(page, "style-src") == [sha256_source(s) for s in styles]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_the_policy_closes_every_other_door() -> None:
    page = assemble_page(TEMPLATE, [CSS], [LIB, APP])
    assert directive(page, "default-src") == ["'none'"]
    assert directive(page, "connect-src") == ["'self'"]
    assert directive(page, "img-src") == ["'self'", "data:"]
    assert directive(page, "frame-ancestors") == ["'none'"]
    assert directive(page, "base-uri") == ["'none'"]
    assert directive(page, "form-action") == ["'none'"]
    assert {k: v for k, v in page.headers.items() if k != "Content-Security-Policy"} == {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def test_the_source_map_comment_is_dropped_because_the_map_is_not_served() -> None:
    minified = Asset("vendor/lib.min.js", "var a=1;\n//# sourceMappingURL=lib.min.js.map\n")
    page = assemble_page(TEMPLATE, [CSS], [minified])
    assert "sourceMappingURL" not in page.html
    [script] = blocks(page.html, "script")
    assert directive(page, "script-src") == [sha256_source(script)]


def test_a_script_that_would_close_its_block_early_is_refused_by_name() -> None:
    sneaky = Asset("dashboard.js", "document.write('</SCRIPT><b>')")
    with pytest.raises(ValueError, match=r"dashboard\.js contains '</script'"):
        assemble_page(TEMPLATE, [CSS], [sneaky])


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<div style="color: red">', "style"),
        ("<button onclick=go()>", "onclick"),
        ("<style>p {}</style>", "<style"),
    ],
)
def test_inline_markup_in_the_template_is_refused(markup: str, problem: str) -> None:
    template = Asset("index.html", TEMPLATE.text.replace("<main></main>", markup))
    with pytest.raises(ValueError, match=rf"index\.html has inline markup .*{problem}"):
        assemble_page(template, [CSS], [APP])


@pytest.mark.parametrize("copies", [0, 2])
def test_a_template_needs_each_slot_exactly_once(copies: int) -> None:
    template = Asset("index.html", TEMPLATE.text.replace(SCRIPTS_SLOT, SCRIPTS_SLOT * copies))
    with pytest.raises(ValueError, match=f"exactly once, not {copies} times"):
        assemble_page(template, [CSS], [APP])


def test_a_page_without_a_script_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one stylesheet and one script"):
        assemble_page(TEMPLATE, [CSS], [])


safe_code = st.text(st.characters(codec="utf-8", exclude_characters="<"), max_size=40)


@given(st.lists(safe_code, min_size=1, max_size=5))
def test_scripts_are_inlined_in_order_each_with_its_hash(texts: list[str]) -> None:
    scripts = [Asset(f"s{n}.js", text) for n, text in enumerate(texts)]
    page = assemble_page(TEMPLATE, [CSS], scripts)
    inlined = blocks(page.html, "script")
    assert [s.rstrip() for s in inlined] == [t.rstrip() for t in texts]
    assert directive(page, "script-src") == [sha256_source(s) for s in inlined]
