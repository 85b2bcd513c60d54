"""The README's deploy path on a fresh clone: `make .venv/.installed` (pip, then `npm ci`),
then `npx cdk deploy`, which first runs cdk.json's app command to synthesize.

A fresh clone holds none of the files git ignores: no cdk.out, and no Chart.js copy in
functions/revenue/dashboard/vendor/ (`make dashboard-assets` makes that one, and the deploy
path never runs it). Each test copies what a clone of this working tree would hold and runs
`app.py` there as the CDK CLI does (the cloud assembly's directory in ``CDK_OUTDIR``, the
context in ``CDK_CONTEXT_JSON``), in a process that imports nothing from this checkout.
Bundling is skipped as in the other infra tests: it builds only the pip dependency layer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra_synth import ROOT, cdk_context

from infra.constructs.function_code import VENDORED

pytestmark = pytest.mark.xdist_group("infra")

STACK = "CognitionOS"
SYNTH_TIMEOUT_S = 600
CHART_JS = ROOT / "node_modules" / VENDORED["revenue"][0].files["chart.umd.min.js"]
VENDOR_COPY = ROOT / "functions" / VENDORED["revenue"][0].path
# Run in the deployed layout: the context's asset as /var/task, the kernel layer's python/.
RENDER_THE_DASHBOARD = """
import json
from revenue.dashboard import loader
page = loader.load_dashboard_page()
print(json.dumps({"loader": loader.__file__, "html": page.html}))
"""


def fresh_clone(into: Path) -> Path:
    """The tracked and new files of this working tree, none that git ignores."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not a file deleted in the working tree
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def process_env(**extra: str) -> dict[str, str]:
    """This environment without anything that points Python at this checkout or sets CDK."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("CDK_")}
    return {**env, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", **extra}


def synthesize(clone: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py"],
        check=False,
        cwd=clone,
        env=process_env(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(cdk_context())),
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_S,
    )


def revenue_asset(outdir: Path) -> Path:
    """The asset directory of the revenue functions' code, as the template names it."""
    template = json.loads((outdir / f"{STACK}.template.json").read_text())
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"]["Handler"].startswith("revenue.")
    }
    [key] = keys  # one asset for the whole context
    return outdir / f"asset.{key.removesuffix('.zip')}"


def render_dashboard(asset: Path, kernel: Path, workdir: Path) -> dict[str, Any]:
    rendered = subprocess.run(
        [sys.executable, "-c", RENDER_THE_DASHBOARD],
        check=False,
        cwd=workdir,
        env=process_env(PYTHONPATH=os.pathsep.join([str(asset), str(kernel)])),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    page: dict[str, Any] = json.loads(rendered.stdout)
    return page


def test_synth_on_a_fresh_clone_ships_a_dashboard_with_chart_js_inlined(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    (clone / "node_modules").symlink_to(ROOT / "node_modules")  # what `npm ci` installs
    assert not (clone / VENDOR_COPY.relative_to(ROOT)).exists()

    outdir = tmp_path / "cdk.out"
    synth = synthesize(clone, outdir)
    assert synth.returncode == 0, synth.stderr[-8000:]

    asset = revenue_asset(outdir)
    [kernel] = [d / "python" for d in outdir.glob("asset.*") if (d / "python/cognitionos").is_dir()]
    page = render_dashboard(asset, kernel, tmp_path)
    assert Path(page["loader"]).is_relative_to(asset)
    chart_js = CHART_JS.read_text(encoding="utf-8")
    body = chart_js.replace("//# sourceMappingURL=chart.umd.min.js.map", "").rstrip()
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["chart.js"]
    assert body.startswith(f"/*!\n * Chart.js v{pinned}\n")
    assert f"<script>{body}\n</script>" in page["html"]


def test_synth_without_npm_ci_stops_naming_the_fix(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    synth = synthesize(clone, tmp_path / "cdk.out")
    assert synth.returncode == 1
    assert synth.stderr.strip().splitlines()[-1] == (
        "app.py: node_modules/chart.js/dist/chart.umd.min.js is missing: the revenue functions "
        "ship it from node_modules (pinned in package.json). Run `npm ci` (a step of "
        "`make .venv/.installed`), then synthesize again."
    )
