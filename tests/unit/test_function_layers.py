"""A function's own layer (``Function.layers``) holds packages no other function ships: each
handler must import, in a fresh interpreter as a new Lambda environment would, with the
packages of the layers it does not have hidden; and a context that imports such a package
must give some function the layer that ships it."""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

from infra import topology
from tests.fresh_interpreter import run_fresh

ROOT = Path(__file__).resolve().parents[2]

# Hides top-level modules the way a Lambda without the layer lacks them.
HIDE = """
import importlib.abc, sys
hidden = set({hidden})
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Hide())
import {module}
print(sorted(hidden & {{m.split(".")[0] for m in sys.modules}}))
"""


def _requirement_names(file: str) -> set[str]:
    lines = (ROOT / file).read_text().splitlines()
    named = [line for line in lines if line and line[0].isalnum()]
    return {re.split(r"[=<>~!\[; ]", line, maxsplit=1)[0] for line in named}


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` need, transitively, as installed in this venv."""
    found: set[str] = set()
    todo = [metadata.distribution(name).metadata["Name"] for name in names]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        found.add(key)
        for requirement in metadata.requires(name) or ():
            if "extra ==" in requirement:
                continue
            dependency = re.split(r"[=<>~!\[; (]", requirement, maxsplit=1)[0]
            try:
                todo.append(metadata.distribution(dependency).metadata["Name"])
            except metadata.PackageNotFoundError:
                continue  # an environment marker this interpreter does not meet
    return found


@cache
def layer_only_modules(layer: topology.DependencyLayer) -> frozenset[str]:
    """Top-level modules of the distributions ``layer`` adds to requirements.txt's."""
    own = _closure(_requirement_names(layer.requirements))
    own -= _closure(_requirement_names("requirements.txt"))
    return frozenset(
        module
        for module, dists in metadata.packages_distributions().items()
        if {d.lower().replace("_", "-") for d in dists} <= own and not module.startswith("_")
    )


def test_the_agents_layer_is_the_sdks_prices_and_bm25() -> None:
    assert {"openai", "anthropic", "genai_prices", "bm25s", "numpy"} <= layer_only_modules(
        topology.AGENTS_LAYER
    )
    assert not {"pydantic", "boto3", "httpx", "stripe"} & layer_only_modules(topology.AGENTS_LAYER)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_handler_imports_without_the_layers_it_does_not_have(fn: topology.Function) -> None:
    others = [layer for layer in topology.dependency_layers() if layer not in fn.layers]
    hidden = set().union(*(layer_only_modules(layer) for layer in others))
    module = fn.handler.rsplit(".", 1)[0]
    assert json.loads(run_fresh(HIDE.format(hidden=sorted(hidden), module=module))) == []


@pytest.mark.parametrize("layer", topology.dependency_layers(), ids=lambda layer: layer.name)
def test_a_context_importing_a_layers_package_has_a_function_with_that_layer(
    layer: topology.DependencyLayer,
) -> None:
    for context in sorted({fn.context for fn in topology.FUNCTIONS}):
        imported = set()
        for source in (ROOT / "functions" / context).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
        if imported & layer_only_modules(layer):
            assert any(layer in fn.layers for fn in topology.FUNCTIONS if fn.context == context), (
                f"functions/{context} imports {sorted(imported & layer_only_modules(layer))}"
            )
