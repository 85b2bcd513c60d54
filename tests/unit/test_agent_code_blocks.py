"""Validating the Python in a task's output: blocks become files, fixed code goes back in
place, and the summary names the failed stage's findings."""

from __future__ import annotations

from typing import Any

from agents.logic.code_blocks import apply_validation, code_files, refused

OUTPUT = """Here is the helper:

```python
import os
def add(a,b): return a+b
```

And a shell call:

```py
import subprocess
subprocess.call("ls", shell=True)
```

Done. ```text
not python
```
"""


def result(passed: bool, files: dict[str, str], failed: dict[str, Any] | None) -> dict[str, Any]:
    stages = [{"name": "syntax", "status": "passed", "findings": []}]
    if failed:
        stages.append({"status": "failed", **failed})
    return {"passed": passed, "stages": stages, "files": files}


def test_each_python_block_is_a_file_and_other_fences_are_not() -> None:
    assert code_files(OUTPUT) == {
        "block_1.py": "import os\ndef add(a,b): return a+b\n",
        "block_2.py": 'import subprocess\nsubprocess.call("ls", shell=True)\n',
    }
    assert code_files("no code at all") == {}


def test_fixed_code_replaces_its_block_and_the_rest_of_the_output_stays() -> None:
    fixed = "def add(a, b):\n    return a + b\n"
    files = {**code_files(OUTPUT), "block_1.py": fixed}
    output, validation = apply_validation(OUTPUT, result(True, files, None))
    assert code_files(output) == {**code_files(OUTPUT), "block_1.py": fixed}
    assert output.startswith("Here is the helper:\n\n```python\ndef add(a, b):")
    assert output.endswith("Done. ```text\nnot python\n```\n")
    assert (validation.passed, validation.blocks, validation.fixed) == (True, 2, True)
    assert validation.summary() == "code validation passed (2 Python block(s), auto-fixed)"


def test_a_failure_names_the_stage_and_its_first_findings() -> None:
    finding = {"rule": "B602", "path": "block_2.py", "line": 2, "message": "shell=True"}
    failed = {"name": "security", "findings": [finding] * 7}
    output, validation = apply_validation(OUTPUT, result(False, code_files(OUTPUT), failed))
    assert output == OUTPUT
    assert (validation.passed, validation.failed_stage, validation.fixed) == (
        False,
        "security",
        False,
    )
    assert validation.findings == ("B602 block_2.py:2 shell=True",) * 5
    assert validation.summary().startswith("code validation failed at security: B602 block_2")


def test_a_refused_submission_fails_at_input_naming_the_problem() -> None:
    output, validation = apply_validation(OUTPUT, refused("block_1.py: 100,001 bytes"))
    assert output == OUTPUT
    assert validation.summary() == (
        "code validation failed at input: input block_1.py: 100,001 bytes"
    )
