"""How the dashboard tests find a browser, and how a run without one ends: before any test,
with one message saying how to get one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import BROWSER_NAMES, NO_BROWSER, find_chromium

ROOT = Path(__file__).resolve().parents[2]
BROWSER_TESTS = "tests/integration/test_dashboard_page.py"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_a_browser_on_path_comes_before_the_fixed_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chrome = executable(tmp_path / "bin" / "google-chrome")
    monkeypatch.setenv("PATH", str(chrome.parent))
    fallback = executable(tmp_path / "playwright" / "chrome")
    assert find_chromium(BROWSER_NAMES, [fallback]) == chrome


def test_debians_chromium_comes_before_google_chrome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = executable(tmp_path / "usr" / "chromium")
    executable(tmp_path / "opt" / "google-chrome")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "opt"), str(tmp_path / "usr")]))
    assert find_chromium(BROWSER_NAMES, []) == chromium


def test_a_fixed_place_counts_only_when_it_is_an_executable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    not_executable = tmp_path / "a" / "chrome"
    not_executable.parent.mkdir()
    not_executable.write_text("")
    found = executable(tmp_path / "b" / "chrome")
    assert find_chromium(BROWSER_NAMES, [tmp_path / "missing", not_executable, found]) == found
    assert find_chromium(BROWSER_NAMES, [tmp_path / "missing", not_executable]) is None


@pytest.mark.parametrize(
    ("workers", "exit_code", "shown_as"),
    [([], pytest.ExitCode.USAGE_ERROR, "ERROR: "), (["-n", "2"], 2, "Interrupted: ")],
    ids=["one-process", "xdist"],
)
def test_a_run_without_a_browser_stops_before_any_test_with_one_message(
    tmp_path: Path, workers: list[str], exit_code: int, shown_as: str
) -> None:
    # PATH holds only the venv's tools and Playwright looks in an empty folder: no browser.
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent),
        "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers, BROWSER_TESTS],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == exit_code, output
    assert output.count(NO_BROWSER) == 1, output
    assert f"{shown_as}{NO_BROWSER}" in output
    assert "no tests ran" in output
