"""The two Lambda layers: third-party dependencies (requirements.txt) and the shared kernel."""

from __future__ import annotations

# subprocess runs pip with a fixed argument list and no shell.
import subprocess  # nosec B404
import sys
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
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-r",
            str(self.requirements),
            "--platform",
            PIP_PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",  # no .pyc for the synthesizing interpreter in the layer
            "--target",
            str(Path(output_dir) / "python"),
            "--quiet",
        ]
        subprocess.run(command, check=True)  # noqa: S603  # nosec B603
        return True


class Layers(Construct):
    """``dependencies`` (requirements.txt) and ``kernel`` (layers/kernel), python3.12 arm64."""

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

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.kernel]
