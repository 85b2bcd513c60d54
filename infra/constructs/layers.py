"""Lambda layers: third-party dependencies (requirements.txt), the shared kernel, and the
topology's ``DependencyLayer``s, each holding only what requirements.txt does not."""

from __future__ import annotations

import shutil

# subprocess runs pip with a fixed argument list and no shell.
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, IgnoreMode, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import topology

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = "requirements.txt"
RUNTIME = {"python3.12": lambda_.Runtime.PYTHON_3_12}[topology.RUNTIME]
ARCHITECTURE = {"arm64": lambda_.Architecture.ARM_64}[topology.ARCHITECTURE]
PIP_PLATFORM = {"arm64": "manylinux2014_aarch64"}[topology.ARCHITECTURE]
PYTHON_VERSION = topology.RUNTIME.removeprefix("python")
# Build artefacts never ship: bytecode is compiled for the wrong interpreter anyway.
NO_BYTECODE = ["__pycache__", "*.pyc"]


@jsii.implements(ILocalBundling)
class PipWheelsBundler:
    """Builds the dependency layer without Docker: pip downloads the Lambda platform's wheels.

    ``--only-binary`` with an explicit platform and Python version fetches the manylinux
    arm64 cp3.12 wheels whatever machine synthesizes, so the layer matches the runtime.
    """

    def __init__(self, requirements: Path) -> None:
        self.requirements = requirements

    # Keyword-only like ILocalBundling's own signature: jsii expands BundlingOptions into it.
    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        pip_install_wheels([self.requirements], Path(output_dir) / "python")
        return True


@jsii.implements(ILocalBundling)
class ExtraWheelsBundler:
    """Builds a ``DependencyLayer``: its packages resolved together with requirements.txt (so
    a pin both need is one version, or pip stops synth), then every distribution the shared
    layer already ships removed, file by file from its RECORD."""

    def __init__(self, requirements: Path, shared: Path) -> None:
        self.requirements = requirements
        self.shared = shared

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        target = Path(output_dir) / "python"
        pip_install_wheels([self.shared, self.requirements], target)
        with tempfile.TemporaryDirectory() as shared_dir:
            pip_install_wheels([self.shared], Path(shared_dir))  # pip's cache: no download
            remove_shared_distributions(target, _distributions(Path(shared_dir)))
        remove_console_scripts(target / "bin")
        return True


def remove_console_scripts(bin_dir: Path) -> None:
    """Console scripts are not on a Lambda's PATH and start with the build machine's ``#!``
    python: deleted. A native executable a wheel ships (ruff's ``bin/ruff``, which its Python
    package finds next to itself) is what that package runs: kept."""
    if not bin_dir.exists():
        return
    for path in bin_dir.iterdir():
        with path.open("rb") as script:
            native = script.read(4) == b"\x7fELF"
        if not native:
            path.unlink()
    if not any(bin_dir.iterdir()):
        bin_dir.rmdir()


def _distributions(site: Path) -> dict[str, Path]:
    """``{canonical name: its .dist-info}`` of the packages installed in ``site``."""
    found = {}
    for info in site.glob("*.dist-info"):
        name = info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        found[name.lower().replace("-", "_").replace(".", "_")] = info
    return found


def remove_shared_distributions(target: Path, shared: dict[str, Path]) -> list[str]:
    """Deletes from ``target`` every distribution ``shared`` also has, in the same version,
    and returns their names; a different version is an error (the layers would disagree)."""
    removed = []
    for name, info in _distributions(target).items():
        if name not in shared:
            continue
        if info.name != shared[name].name:
            raise ValueError(
                f"{info.name} in the layer but {shared[name].name} in the shared one: pin it"
            )
        for line in (info / "RECORD").read_text().splitlines():
            path = target / line.split(",", 1)[0]
            if path.resolve().is_relative_to(target.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(info)
        removed.append(name)
    for folder in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # a package's folders, emptied by its RECORD
    return removed


def pip_install_wheels(requirements: list[Path], target: Path) -> None:
    """pip installs the Lambda platform's wheels of ``requirements`` into ``target``."""
    command = [sys.executable, "-m", "pip", "install"]
    for file in requirements:
        command += ["-r", str(file)]
    command += [
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",  # no .pyc for the synthesizing interpreter in the layer
        "--target",
        str(target),
        "--quiet",
    ]
    subprocess.run(command, check=True)  # noqa: S603  # nosec B603


class Layers(Construct):
    """``dependencies`` (requirements.txt), ``kernel`` (layers/kernel) and ``own`` (each
    topology ``DependencyLayer`` by name), python3.12 arm64."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description=f"Third-party packages from {REQUIREMENTS}",
            code=lambda_.Code.from_asset(
                str(ROOT),
                # Only requirements.txt is the asset's source, so the layer (and its hash)
                # changes exactly when the pins change.
                exclude=["*", f"!{REQUIREMENTS}"],
                ignore_mode=IgnoreMode.GLOB,
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,
                    command=[
                        "bash",
                        "-c",
                        f"pip install -r {REQUIREMENTS} -t /asset-output/python",
                    ],
                    local=PipWheelsBundler(ROOT / REQUIREMENTS),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )
        self.kernel = lambda_.LayerVersion(
            self,
            "Kernel",
            description="The cognitionos shared kernel",
            code=lambda_.Code.from_asset(str(ROOT / "layers" / "kernel"), exclude=NO_BYTECODE),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )

        self.own = {layer.name: self._own_layer(layer) for layer in topology.dependency_layers()}

    def _own_layer(self, layer: topology.DependencyLayer) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            f"{layer.name.title().replace('-', '')}Dependencies",
            description=f"Third-party packages from {layer.requirements}, beyond {REQUIREMENTS}",
            code=lambda_.Code.from_asset(
                str(ROOT),
                exclude=["*", f"!{REQUIREMENTS}", f"!{layer.requirements}"],
                ignore_mode=IgnoreMode.GLOB,
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,
                    # Docker's build keeps the shared packages too: same versions, more bytes.
                    command=[
                        "bash",
                        "-c",
                        f"pip install -r {layer.requirements} -c {REQUIREMENTS}"
                        " -t /asset-output/python",
                    ],
                    local=ExtraWheelsBundler(ROOT / layer.requirements, ROOT / REQUIREMENTS),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )

    def of(self, fn: topology.Function) -> list[lambda_.ILayerVersion]:
        """``fn``'s layers: shared, its own, the kernel. No two ship the same file, so the
        order Lambda merges them in (CDK sorts them) does not matter."""
        own = [self.own[layer.name] for layer in fn.layers]
        return [self.dependencies, *own, self.kernel]
