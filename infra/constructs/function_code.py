"""The code asset of one bounded context: ``functions/<context>/`` as git holds it, plus the
files it ships from ``node_modules`` (pinned in package.json), staged at synth.

Synth builds the asset itself, so it is complete whatever command synthesizes (`npx cdk
deploy` on a fresh clone as much as `make synth`): a file that npm has not installed stops
synth with the fix, instead of a deployed function that fails at run time.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.constructs.layers import NO_BYTECODE, ROOT

FUNCTIONS_DIR = ROOT / "functions"
NODE_MODULES = ROOT / "node_modules"


@dataclass(frozen=True)
class VendorDirectory:
    """A directory of a context that git ignores and synth fills from ``node_modules``."""

    path: str  # relative to functions/
    files: Mapping[str, str]  # file name -> its path under node_modules/


# The dashboard inlines Chart.js's UMD build (revenue/dashboard/loader.py). `make
# dashboard-assets` puts the same file in functions/ for the local runner and the tests;
# synth never reads that copy, so a fresh clone and a stale copy ship the same file.
VENDORED: Mapping[str, tuple[VendorDirectory, ...]] = {
    "revenue": (
        VendorDirectory(
            "revenue/dashboard/vendor", {"chart.umd.min.js": "chart.js/dist/chart.umd.min.js"}
        ),
    ),
}


class VendoredFileMissing(FileNotFoundError):
    """A file a context ships from ``node_modules`` is not there: npm has not installed it."""


def stage_context(
    context: str,
    into: Path,
    *,
    functions_dir: Path = FUNCTIONS_DIR,
    node_modules: Path = NODE_MODULES,
    vendored: Mapping[str, tuple[VendorDirectory, ...]] = VENDORED,
) -> Path:
    """Fill ``into`` (emptied first) with ``<context>/``: the context's files without bytecode
    or vendor copies, then its vendored files from ``node_modules``. ``into`` is the asset
    root, so a handler path is ``<context>.handlers...`` and no other context ships."""
    source = functions_dir / context
    if not source.is_dir():
        # An empty asset would deploy and fail only when invoked.
        raise FileNotFoundError(f"no bounded context functions/{context}/ for a handler")
    directories = vendored.get(context, ())
    for directory in directories:
        for relative in directory.files.values():
            if not (node_modules / relative).is_file():
                raise VendoredFileMissing(
                    f"{_shown(node_modules / relative)} is missing: the {context} functions "
                    f"ship it from node_modules (pinned in package.json). Run `npm ci` (a step "
                    "of `make .venv/.installed`), then synthesize again."
                )
    skipped = {functions_dir / directory.path for directory in directories}
    bytecode = shutil.ignore_patterns(*NO_BYTECODE)

    def ignore(parent: str, names: list[str]) -> set[str]:
        return set(bytecode(parent, names)) | {n for n in names if Path(parent, n) in skipped}

    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(source, into / context, ignore=ignore)
    for directory in directories:
        target = into / directory.path
        target.mkdir(parents=True, exist_ok=True)
        for name, relative in directory.files.items():
            shutil.copyfile(node_modules / relative, target / name)
    return into


def _shown(path: Path) -> str:
    """The path relative to the repository when it is inside it: what a user would type."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
