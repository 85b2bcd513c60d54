"""``make compliance`` (``python -m infra.compliance``): readable findings, an exit status a
CI step can use, and a plain message when there is nothing to check against."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import compliance

SUMMARY = {
    "findings": 2,
    "email_findings": 1,
    "phone_findings": 0,
    "name_findings": 0,
    "setting_findings": 1,
    "stores_scanned": 17,
    "records_scanned": 40,
    "stores_settings_checked": 17,
    "known_names": 2,
    "reported": [
        {
            "store": "table:agents",
            "key": '{"pk": "RUN#1"}',
            "path": "$.note",
            "kind": "email",
            "sample": "j***@e***.com",
        },
        {
            "store": "table:usage",
            "key": "",
            "path": "PointInTimeRecovery",
            "kind": "setting",
            "sample": "found disabled, declared enabled",
        },
    ],
    "not_reported": 0,
}


def test_findings_print_one_a_line_then_the_counts() -> None:
    assert compliance.render(SUMMARY).splitlines() == [
        'email    table:agents  {"pk": "RUN#1"}  $.note  j***@e***.com',
        "setting  table:usage  PointInTimeRecovery  found disabled, declared enabled",
        "2 findings (1 email, 0 phone, 0 name, 1 setting) in 40 records of 17 stores; "
        "settings of 17 stores checked; 2 known names looked for",
    ]


def test_findings_exit_1_and_none_exit_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compliance, "run_local", lambda _path: SUMMARY)
    assert compliance.main([]) == 1
    clean = SUMMARY | {"findings": 0, "email_findings": 0, "setting_findings": 0, "reported": []}
    monkeypatch.setattr(compliance, "run_local", lambda _path: clean)
    assert compliance.main([]) == 0


def test_without_a_running_runner_it_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compliance.main(["--local-json", str(tmp_path / "local.json")]) == 2
    assert "start the local runner (make run)" in capsys.readouterr().err
