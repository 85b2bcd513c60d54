"""Functions, layers, code assets and event sources follow the topology."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra_synth import Synth, refs, render

from infra import topology
from infra.constructs.function_code import VendoredFileMissing, stage_context
from infra.constructs.layers import (
    RUNTIME,
    ExtraWheelsBundler,
    PipWheelsBundler,
    remove_shared_distributions,
)

pytestmark = pytest.mark.xdist_group("infra")


def layer_ids(synth: Synth, fn: topology.Function) -> list[str]:
    layers = synth.stack.layers
    own = [synth.id(layers.own[layer.name]) for layer in fn.layers]
    return [synth.id(layers.dependencies), *own, synth.id(layers.kernel)]


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_is_deployed_as_declared(synth: Synth, fn: topology.Function) -> None:
    props = synth.props(synth.stack.functions.functions[fn.name])
    assert props["Runtime"] == "python3.12" == topology.RUNTIME
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == fn.handler
    # CDK sorts layers (cdk.json's recognizeLayerVersion); no two ship the same file.
    assert sorted(layer["Ref"] for layer in props["Layers"]) == sorted(layer_ids(synth, fn))
    assert (props["MemorySize"], props["Timeout"]) == (fn.memory_mb, fn.timeout_s)
    if fn.reserved_concurrency is None:
        assert "ReservedConcurrentExecutions" not in props
    else:
        assert props["ReservedConcurrentExecutions"] == fn.reserved_concurrency
    assert "TracingConfig" not in props  # Active tracing only with -c tracing=true


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_gets_its_settings_from_the_environment(
    synth: Synth, fn: topology.Function
) -> None:
    stack = synth.stack
    env = synth.props(stack.functions.functions[fn.name])["Environment"]["Variables"]
    for var, value in fn.static_env().items():
        assert env[var] == value
    for var, resource in fn.resource_env().items():
        if isinstance(resource, topology.Key) and resource.during_rotation:
            assert var not in env, var  # no rotation under way: no previous key
            continue
        if isinstance(resource, topology.Key):  # the key ARN
            key = stack.data.keys[resource.name]
            assert env[var] == {"Fn::GetAtt": [synth.id(key), "Arn"]}, var
            continue
        if isinstance(resource, topology.Table):
            construct = stack.data.tables[resource.name]  # Ref: the table name
        elif isinstance(resource, topology.Queue):
            construct = stack.queues.queues[resource.name]  # Ref: the queue URL
        elif isinstance(resource, topology.EmailTemplate):
            construct = stack.email.templates[resource.name]  # Ref: the template name
        elif isinstance(resource, topology.Bucket):
            construct = stack.buckets.buckets[resource.name]  # Ref: the bucket name
        elif isinstance(resource, topology.DeadLetterQueue):
            construct = stack.queues.dead_letter_queues[resource.queue.name]  # Ref: its URL
        else:
            construct = stack.secrets.secrets[resource.name]  # Ref: the secret ARN
        assert env[var] == {"Ref": synth.id(construct)}, var
    if fn.emails:
        assert env[topology.EMAIL_SENDER_ENV] == stack.email.sender
    for setting in fn.settings:  # no context given: the defaults
        assert env[setting.env] == setting.default, setting.env
    settings = {setting.env for setting in fn.settings}
    declared = {*fn.static_env(), *fn.resource_env(), *settings, "POWERTOOLS_TRACE_DISABLED"}
    expected_extra = {"JOB_FUNCTIONS"} if fn.invokes else set()
    if fn.validates_code:
        expected_extra.add(topology.CODE_VALIDATE_ENV)
    if fn.emails:
        expected_extra.add(topology.EMAIL_SENDER_ENV)
    assert set(env) - declared == expected_extra


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_handling_personal_data_gets_the_keyring_settings(
    synth: Synth, fn: topology.Function
) -> None:
    env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
    keyring = {"PII_KEY_ID", "SUBJECT_KEYS_TABLE"}
    uses_keyring = fn.pii != "none" or fn.rewraps_pii_keys
    assert keyring <= set(env) if uses_keyring else not keyring & set(env)
    assert "PII_PREVIOUS_KEY_ID" not in env  # no rotation under way
    assert ("PII_BLIND_INDEX_KEY_SECRET_ID" in env) == fn.pii_lookups


@pytest.mark.parametrize("fn", [f for f in topology.FUNCTIONS if f.invokes], ids=lambda f: f.name)
def test_a_job_runner_knows_the_job_functions_by_name(synth: Synth, fn: topology.Function) -> None:
    env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
    jobs = json.loads(render(env["JOB_FUNCTIONS"]))
    functions = synth.stack.functions.functions
    assert jobs == {
        job: f"<{synth.id(functions[topology.jobs()[job].name])}>" for job in fn.invokes
    }


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_logs_to_its_own_encrypted_log_group(
    synth: Synth, fn: topology.Function
) -> None:
    group_id = synth.props(synth.stack.functions.functions[fn.name])["LoggingConfig"]["LogGroup"]
    group = synth.resources[group_id["Ref"]]["Properties"]
    assert group["RetentionInDays"] == 30
    assert refs(group["KmsKeyId"]) == {synth.id(synth.stack.data.key)}


def test_log_groups_are_not_shared(synth: Synth) -> None:
    groups = [
        synth.props(f)["LoggingConfig"]["LogGroup"]["Ref"]
        for f in synth.stack.functions.functions.values()
    ]
    assert len(set(groups)) == len(topology.FUNCTIONS)


def test_layers_target_the_function_runtime(synth: Synth) -> None:
    layers = synth.stack.layers
    for layer in (layers.dependencies, layers.kernel, *layers.own.values()):
        props = synth.props(layer)
        assert props["CompatibleRuntimes"] == ["python3.12"]
        assert props["CompatibleArchitectures"] == ["arm64"]


def staged_code(synth: Synth, fn: topology.Function) -> Path:
    props = synth.props(synth.stack.functions.functions[fn.name])
    asset_hash = props["Code"]["S3Key"].removesuffix(".zip")
    return synth.assembly / f"asset.{asset_hash}"


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_ships_only_its_bounded_context(synth: Synth, fn: topology.Function) -> None:
    staged = staged_code(synth, fn)
    assert [p.name for p in staged.iterdir()] == [fn.context]
    module = fn.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert (staged / module).is_file()
    assert not [p for p in staged.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]


def write_files(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def staged_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_staging_keeps_one_context_without_bytecode(tmp_path: Path) -> None:
    source = tmp_path / "functions"
    write_files(
        source,
        {
            "billing/handlers/api.py": "handler",
            "billing/__pycache__/x.cpython-312.pyc": "",
            "billing/logic/stale.pyc": "",
            "other/handlers/api.py": "",
            "other/billing/x.py": "",
            "conftest.py": "",
        },
    )
    into = tmp_path / "staged"
    write_files(into, {"billing/removed.py": "from an earlier synth"})
    stage_context("billing", into, functions_dir=source, node_modules=tmp_path / "nowhere")
    assert staged_files(into) == {"billing/handlers/api.py": "handler"}


def test_staging_ships_vendored_files_from_node_modules_not_the_copy_in_functions(
    tmp_path: Path,
) -> None:
    source, node_modules = tmp_path / "functions", tmp_path / "node_modules"
    write_files(
        source,
        {
            "revenue/dashboard/loader.py": "loader",
            # What an old `make dashboard-assets` left: neither file may ship.
            "revenue/dashboard/vendor/chart.umd.min.js": "stale copy",
            "revenue/dashboard/vendor/chart.umd.js": "stale extra",
        },
    )
    write_files(node_modules, {"chart.js/dist/chart.umd.min.js": "pinned Chart.js"})
    into = tmp_path / "staged"
    stage_context("revenue", into, functions_dir=source, node_modules=node_modules)
    assert staged_files(into) == {
        "revenue/dashboard/loader.py": "loader",
        "revenue/dashboard/vendor/chart.umd.min.js": "pinned Chart.js",
    }


def test_staging_without_npm_ci_stops_synth_naming_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "functions"
    write_files(source, {"revenue/dashboard/loader.py": ""})
    with pytest.raises(VendoredFileMissing) as raised:
        stage_context(
            "revenue", tmp_path / "staged", functions_dir=source, node_modules=tmp_path / "nm"
        )
    message = str(raised.value)
    assert "chart.js/dist/chart.umd.min.js is missing" in message
    assert "Run `npm ci`" in message
    assert not (tmp_path / "staged").exists()


def test_staging_refuses_a_context_without_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no bounded context functions/nope/"):
        stage_context("nope", tmp_path / "staged", functions_dir=tmp_path)


def test_the_dependency_layer_is_built_from_lambda_wheels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(
        "infra.constructs.layers.subprocess.run", lambda argv, check: calls.append(argv)
    )
    requirements = tmp_path / "requirements.txt"
    bundler = PipWheelsBundler(requirements)
    assert bundler.try_bundle(str(tmp_path / "out"), image=RUNTIME.bundling_image) is True
    (argv,) = calls
    assert argv[1:5] == ["-m", "pip", "install", "-r"]
    assert argv[5] == str(requirements)
    options = " ".join(argv[6:])
    assert "--platform manylinux2014_aarch64" in options
    assert "--implementation cp --python-version 3.12 --only-binary=:all:" in options
    assert f"--target {tmp_path / 'out' / 'python'}" in options


def test_the_queue_consumer_reports_partial_batch_failures(synth: Synth) -> None:
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping")
    consumers = [f for f in topology.FUNCTIONS if f.consumes]
    assert len(mappings) == len(consumers)
    for fn in consumers:
        assert fn.consumes is not None
        fn_id = synth.id(synth.stack.functions.functions[fn.name])
        (mapping,) = [m["Properties"] for m in mappings.values() if refs(m) >= {fn_id}]
        assert refs(mapping["EventSourceArn"]) == {
            synth.id(synth.stack.queues.queues[fn.consumes.name])
        }
        assert mapping["BatchSize"] == fn.consumes.batch_size
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if fn.consumes.fifo or not fn.consumes.max_batching_window_s:
            assert "MaximumBatchingWindowInSeconds" not in mapping
        else:
            assert mapping["MaximumBatchingWindowInSeconds"] == fn.consumes.max_batching_window_s


def test_only_the_agent_step_carries_the_agents_layer(synth: Synth) -> None:
    with_agents = [fn.name for fn in topology.FUNCTIONS if topology.AGENTS_LAYER in fn.layers]
    assert with_agents == ["agents-step"]
    assert synth.stack.layers.own.keys() == {"agents", "code-validation", "operators"}


def test_a_functions_own_layer_is_resolved_with_the_shared_pins_then_trimmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def pip(argv: list[str], check: bool) -> None:
        calls.append(argv)
        target = Path(argv[argv.index("--target") + 1])
        write_dist(target, "pydantic", "2.14.3", ["pydantic/__init__.py"])
        if argv.count("-r") == 2:  # shared + own, resolved together
            write_dist(target, "openai", "3.51.0", ["openai/__init__.py", "openai/types/a.py"])

    monkeypatch.setattr("infra.constructs.layers.subprocess.run", pip)
    shared, own = tmp_path / "requirements.txt", tmp_path / "requirements-agents.txt"
    out = tmp_path / "out"
    assert ExtraWheelsBundler(own, shared).try_bundle(str(out), image=RUNTIME.bundling_image)
    assert [argv[4:8] for argv in calls] == [
        ["-r", str(shared), "-r", str(own)],
        ["-r", str(shared), "--platform", "manylinux2014_aarch64"],
    ]
    left = sorted(str(p.relative_to(out / "python")) for p in (out / "python").rglob("*"))
    assert left == [
        "openai",
        "openai-3.51.0.dist-info",
        "openai-3.51.0.dist-info/RECORD",
        "openai/__init__.py",
        "openai/types",
        "openai/types/a.py",
    ]


def test_a_shared_package_in_another_version_stops_the_build(tmp_path: Path) -> None:
    write_dist(tmp_path / "own", "httpx", "0.28.1", ["httpx/__init__.py"])
    write_dist(tmp_path / "shared", "httpx", "0.27.0", ["httpx/__init__.py"])
    mismatch = r"httpx-0\.28\.1\.dist-info in the layer but httpx-0\.27\.0"
    with pytest.raises(ValueError, match=mismatch):
        remove_shared_distributions(
            tmp_path / "own", {"httpx": tmp_path / "shared" / "httpx-0.27.0.dist-info"}
        )
    assert (tmp_path / "own" / "httpx" / "__init__.py").exists()


def write_dist(site: Path, name: str, version: str, files: list[str]) -> None:
    """A wheel as pip installs it: its files and a dist-info whose RECORD lists them."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    for file in files:
        (site / file).parent.mkdir(parents=True, exist_ok=True)
        (site / file).write_text("")
    record = [*files, f"{info.name}/RECORD", f"../../bin/{name}"]
    (info / "RECORD").write_text("".join(f"{line},,\n" for line in record))
