"""``python -m infra.asset_sizes`` (run by ``make synth``) adds a function's code and layers
and fails over Lambda's unzipped limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import asset_sizes


def assembly(tmp_path: Path, code_bytes: int, layer_bytes: int) -> Path:
    for name, size in (("code", code_bytes), ("layer", layer_bytes)):
        (tmp_path / f"asset.{name}" / "python").mkdir(parents=True)
        with (tmp_path / f"asset.{name}" / "python" / "blob").open("wb") as blob:
            blob.truncate(size)  # sparse: no real bytes on disk
    resources = {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Code": {"S3Key": "code.zip"}, "Layers": [{"Ref": "Layer"}]},
        },
        "Layer": {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {"Content": {"S3Key": "layer.zip"}},
        },
    }
    (tmp_path / "S.template.json").write_text(json.dumps({"Resources": resources}))
    return tmp_path


def test_a_functions_size_is_its_code_plus_its_layers(tmp_path: Path) -> None:
    assert asset_sizes.function_sizes(assembly(tmp_path, 1_000, 2_000)) == {"Fn": 3_000}


@pytest.mark.parametrize(("layer_bytes", "code"), [(262_144_000 - 10, 0), (262_144_000, 1)])
def test_over_lambdas_limit_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layer_bytes: int, code: int
) -> None:
    assert asset_sizes.main([str(assembly(tmp_path, 10, layer_bytes))]) == code
    assert ("over Lambda's 250 MB" in capsys.readouterr().out) == bool(code)
