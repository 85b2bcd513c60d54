"""Each function's unzipped size, from a synthesized cloud assembly: its code plus its layers,
against Lambda's 250 MB (262,144,000 bytes) limit. ``make synth`` runs it and fails over it.

    python -m infra.asset_sizes [cdk.out]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes: function code and all its layers, unzipped


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _asset(assembly: Path, code: dict[str, object]) -> Path:
    return assembly / f"asset.{str(code['S3Key']).removesuffix('.zip')}"


def function_sizes(assembly: Path) -> dict[str, int]:
    """``{function's logical id: unzipped bytes of its code and layers}``."""
    sizes = {}
    for template in assembly.glob("*.template.json"):
        resources = json.loads(template.read_text())["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            total = _folder_bytes(_asset(assembly, props["Code"]))
            for layer in props.get("Layers", []):
                content = resources[layer["Ref"]]["Properties"]["Content"]
                total += _folder_bytes(_asset(assembly, content))
            sizes[logical_id] = total
    return sizes


def main(argv: list[str]) -> int:
    assembly = Path(argv[0] if argv else "cdk.out")
    sizes = function_sizes(assembly)
    if not sizes:
        print(f"no synthesized functions in {assembly}: run `npx cdk synth` first")
        return 1
    for logical_id, size in sorted(sizes.items(), key=lambda item: -item[1]):
        share = size / LAMBDA_UNZIPPED_LIMIT
        print(f"{size / 2**20:7.1f} MiB  {share:5.1%} of Lambda's limit  {logical_id}")
    over = [name for name, size in sizes.items() if size > LAMBDA_UNZIPPED_LIMIT]
    if over:
        print(f"over Lambda's 250 MB unzipped limit: {', '.join(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
