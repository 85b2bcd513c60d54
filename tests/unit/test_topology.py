"""Invariants of the topology that the stack and the local runner both rely on."""

from __future__ import annotations

import importlib

import pytest

from infra import topology


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda f: f.name)
def test_every_handler_imports_without_side_effects(fn: topology.Function) -> None:
    module_name, attribute = fn.handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_queue_visibility_outlasts_six_consumer_timeouts() -> None:
    for fn in topology.FUNCTIONS:
        if fn.consumes:
            assert fn.consumes.visibility_timeout_s >= 6 * fn.timeout_s, fn.name


def test_fifo_queues_do_not_batch_over_time_and_every_queue_has_a_redrive() -> None:
    for queue in topology.QUEUES:
        assert queue.max_receives >= 1
        if queue.fifo:
            assert queue.max_batching_window_s == 0


def test_every_scheduled_function_is_a_job_the_admin_route_can_run() -> None:
    runners = [fn for fn in topology.FUNCTIONS if fn.invokes]
    for fn in topology.FUNCTIONS:
        if fn.schedule:
            assert fn.job, f"{fn.name} has a schedule but no job name"
            assert any(fn.job in r.invokes for r in runners), f"no admin route runs {fn.job}"


def test_routes_are_unique_and_api_routes_have_sub_30s_timeouts() -> None:
    keys = [route.route_key for route, _ in topology.routes()]
    assert len(keys) == len(set(keys))
    for _, fn in topology.routes():
        assert fn.timeout_s < 30, f"{fn.name}: API Gateway stops waiting at 30 s"


def test_environment_variable_names_do_not_collide() -> None:
    for fn in topology.FUNCTIONS:
        names = list(fn.resource_env()) + list(fn.static_env())
        assert len(names) == len(set(names)), fn.name


def test_a_personal_data_writer_gets_the_keyring_table_and_key() -> None:
    writer = topology.Function("w", handler="billing.x.h", description="d", pii="write")
    assert writer.resource_env() == {
        "SUBJECT_KEYS_TABLE": topology.SUBJECT_KEYS_TABLE,
        "PII_KEY_ID": topology.PII_KEY,
        "PII_PREVIOUS_KEY_ID": topology.PII_PREVIOUS_KEY,  # set only during a rotation
    }
    assert writer.all_tables == (
        topology.TableAccess(topology.SUBJECT_KEYS_TABLE, ("dynamodb:GetItem", "dynamodb:PutItem")),
    )
    assert writer.key_grants == (
        topology.KeyGrant(topology.PII_KEY, ("kms:Decrypt", "kms:GenerateDataKey")),
        topology.KeyGrant(topology.PII_PREVIOUS_KEY, ("kms:Decrypt",)),  # never a new key
    )


def test_only_the_rotation_job_rewraps_and_it_never_unwraps_a_data_key() -> None:
    rewrappers = [fn for fn in topology.FUNCTIONS if fn.rewraps_pii_keys]
    assert [fn.name for fn in rewrappers] == ["pii-key-rotation"]
    assert rewrappers[0].key_grants == (
        topology.KeyGrant(topology.PII_KEY, ("kms:ReEncryptTo",)),
        topology.KeyGrant(topology.PII_PREVIOUS_KEY, ("kms:ReEncryptFrom",)),
    )
    for fn in topology.FUNCTIONS:
        actions = {a for grant in fn.key_grants for a in grant.actions}
        assert fn.rewraps_pii_keys or not actions & {"kms:ReEncryptFrom", "kms:ReEncryptTo"}


def test_a_function_cannot_both_rewrap_and_handle_personal_data() -> None:
    with pytest.raises(ValueError, match="handles no personal data"):
        topology.Function("x", handler="a.b.c", description="d", pii="read", rewraps_pii_keys=True)


def test_a_personal_data_reader_reads_the_subject_keys_but_cannot_write_them() -> None:
    billing = topology.TableAccess(topology.BILLING_TABLE, ("dynamodb:GetItem",))
    reader = topology.Function(
        "r", handler="billing.x.h", description="d", tables=(billing,), pii="read"
    )
    assert reader.all_tables == (
        billing,
        topology.TableAccess(topology.SUBJECT_KEYS_TABLE, ("dynamodb:GetItem",)),
    )
    assert not any(access.writes for access in reader.all_tables)
    assert "PII_KEY_ID" in reader.resource_env()


def test_a_declared_subject_keys_access_is_merged_with_what_personal_data_needs() -> None:
    scan = topology.TableAccess(topology.SUBJECT_KEYS_TABLE, ("dynamodb:Scan",))
    fn = topology.Function("s", handler="billing.x.h", description="d", tables=(scan,), pii="read")
    assert fn.all_tables == (
        topology.TableAccess(topology.SUBJECT_KEYS_TABLE, ("dynamodb:Scan", "dynamodb:GetItem")),
    )


def test_only_a_function_that_looks_subjects_up_reads_the_blind_index_key() -> None:
    finder = topology.Function(
        "f", handler="billing.x.h", description="d", pii="read", pii_lookups=True
    )
    reader = topology.Function("r", handler="billing.x.h", description="d", pii="read")
    assert finder.all_secrets == (topology.PII_BLIND_INDEX_KEY,)
    assert reader.all_secrets == ()


def test_a_function_without_personal_data_sees_no_keyring() -> None:
    plain = topology.Function("p", handler="billing.x.h", description="d")
    assert plain.resource_env() == {} and plain.keys == ()


def test_the_local_runner_passes_the_pii_key_to_functions_that_declare_it() -> None:
    from infra.local.config import LocalConfig
    from infra.local.functions import function_env
    from infra.local.provision import Resources

    made = Resources(
        tables={t.name: f"local-{t.name}" for t in topology.TABLES},
        queue_urls={q.name: f"http://sqs/{q.name}" for q in topology.QUEUES},
        dlq_urls={q.name: f"http://sqs/{q.dlq_name}" for q in topology.QUEUES},
        secret_arns={s.name: f"arn:secret:{s.name}" for s in topology.SECRETS},
        keys={"pii": "arn:aws:kms:us-east-1:123456789012:key/pii"},
        buckets={b.name: f"local-{b.name}" for b in topology.BUCKETS},
    )
    env = function_env(topology.function("billing-api"), LocalConfig(), made, {})
    assert env["PII_KEY_ID"] == "arn:aws:kms:us-east-1:123456789012:key/pii"
    assert env["SUBJECT_KEYS_TABLE"] == "local-subject-keys"
    assert "PII_KEY_ID" not in function_env(
        topology.function("billing-ingest"), LocalConfig(), made, {}
    )
    assert "PII_PREVIOUS_KEY_ID" not in env  # no rotation under way
    made.keys["pii-previous"] = "arn:aws:kms:us-east-1:123456789012:key/old"
    rotating = function_env(topology.function("billing-api"), LocalConfig(), made, {})
    assert rotating["PII_PREVIOUS_KEY_ID"] == "arn:aws:kms:us-east-1:123456789012:key/old"


def test_the_local_runner_makes_a_previous_pii_key_only_when_asked() -> None:
    from infra.local.config import LocalConfig
    from infra.local.provision import rotation_keys

    assert rotation_keys(topology) == [topology.PII_PREVIOUS_KEY]
    assert not LocalConfig.from_env({}).pii_key_rotation
    config = LocalConfig.from_env({"COGNITION_PII_KEY_ROTATION": "on"})
    assert config.pii_key_rotation
    assert "COGNITION_PII_KEY_ROTATION" not in config.function_env  # the runner's alone


def test_every_function_setting_is_a_topology_setting_with_a_valid_default() -> None:
    declared = {setting for fn in topology.FUNCTIONS for setting in fn.settings}
    assert declared == set(topology.SETTINGS)
    names = [setting.env for setting in topology.SETTINGS]
    contexts = [setting.context for setting in topology.SETTINGS]
    assert len(set(names)) == len(names) and len(set(contexts)) == len(contexts)
    for setting in topology.SETTINGS:
        setting.check(setting.default)


def test_table_access_names_indexes_the_table_has_and_known_actions_once() -> None:
    billing = topology.BILLING_TABLE
    with pytest.raises(ValueError, match="table billing has no index 'gsi9'"):
        topology.TableAccess(billing, indexes=("gsi9",))
    with pytest.raises(ValueError, match="names no action and no index"):
        topology.TableAccess(billing)
    with pytest.raises(ValueError, match=r"unknown actions \['dynamodb:PartiQLSelect'\]"):
        topology.TableAccess(billing, ("dynamodb:PartiQLSelect",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names an action or index twice"):
        topology.TableAccess(billing, ("dynamodb:GetItem", "dynamodb:GetItem"))


def test_a_function_declares_each_table_once() -> None:
    get = topology.TableAccess(topology.BILLING_TABLE, ("dynamodb:GetItem",))
    put = topology.TableAccess(topology.BILLING_TABLE, ("dynamodb:PutItem",))
    with pytest.raises(ValueError, match="declares access to one table twice"):
        topology.Function("x", handler="billing.x.h", description="d", tables=(get, put))


def test_an_index_reader_gets_the_table_name_but_no_table_action() -> None:
    rollup = topology.function("revenue-rollup")
    (feed,) = [a for a in rollup.all_tables if a.table == topology.BILLING_TABLE]
    assert feed == topology.TableAccess(topology.BILLING_TABLE, indexes=("mrr-feed",))
    assert feed.actions == ()
    assert rollup.resource_env()["BILLING_TABLE"] == topology.BILLING_TABLE
    assert rollup.resource_env()["REVENUE_TABLE"] == topology.REVENUE_TABLE


def _local_env(name: str, user_env: dict[str, str]) -> dict[str, str]:
    from infra.local.config import LocalConfig
    from infra.local.functions import function_env
    from infra.local.provision import Resources

    made = Resources(
        tables={t.name: f"local-{t.name}" for t in topology.TABLES},
        queue_urls={q.name: f"http://sqs/{q.name}" for q in topology.QUEUES},
        dlq_urls={q.name: f"http://sqs/{q.dlq_name}" for q in topology.QUEUES},
        secret_arns={s.name: f"arn:secret:{s.name}" for s in topology.SECRETS},
        keys={k.name: f"arn:key:{k.name}" for k in topology.KEYS},
        buckets={b.name: f"local-{b.name}" for b in topology.BUCKETS},
    )
    return function_env(topology.function(name), LocalConfig.from_env(user_env), made, {})


def test_the_local_runner_gives_a_declared_setting_its_default_when_unset() -> None:
    for name in ("revenue-rollup", "revenue-api"):
        env = _local_env(name, {})
        assert env["COGNITION_FX_RATES"] == "{}"
        assert env["COGNITION_REPORTING_CURRENCY"] == "usd"
    assert _local_env("revenue-rollup", {"COGNITION_FX_RATES": ""})["COGNITION_FX_RATES"] == "{}"


def test_the_local_runner_gives_the_users_setting_only_to_its_declarers() -> None:
    user = {"COGNITION_FX_RATES": '{"eur": 1.08}', "COGNITION_REPORTING_CURRENCY": "eur"}
    rollup = _local_env("revenue-rollup", user)
    assert rollup["COGNITION_FX_RATES"] == '{"eur": 1.08}'
    assert rollup["COGNITION_REPORTING_CURRENCY"] == "eur"
    billing = _local_env("billing-api", {**user, "COGNITION_PROBE": "passed"})
    assert "COGNITION_FX_RATES" not in billing
    assert "COGNITION_REPORTING_CURRENCY" not in billing
    assert billing["COGNITION_PROBE"] == "passed"  # other COGNITION_* still pass through


@pytest.mark.parametrize(
    ("name", "value"),
    [("COGNITION_FX_RATES", '{"eur": -1}'), ("COGNITION_REPORTING_CURRENCY", "EUR")],
)
def test_the_local_runner_refuses_a_bad_setting_naming_the_variable(name: str, value: str) -> None:
    from infra.local.config import ConfigError, LocalConfig

    with pytest.raises(ConfigError, match=f"^{name}: "):
        LocalConfig.from_env({name: value})


def test_bucket_access_names_actions_and_gives_the_bucket_name_only_to_its_declarers() -> None:
    bucket = topology.Bucket("drop-box", expire_after_days=3)
    writer = topology.Function(
        "w",
        handler="billing.x.h",
        description="d",
        buckets=(topology.BucketAccess(bucket, ("s3:PutObject",)),),
    )
    assert writer.resource_env() == {"DROP_BOX_BUCKET": bucket}
    assert topology.Function("p", handler="billing.x.h", description="d").resource_env() == {}
    with pytest.raises(ValueError, match="access to bucket drop-box names no action"):
        topology.BucketAccess(bucket, ())


def test_only_billing_intake_writes_event_bodies_and_only_the_processor_and_scanners_read() -> None:
    grants = {
        fn.name: set(access.actions)
        for fn in topology.FUNCTIONS
        for access in fn.buckets
        if access.bucket == topology.EVENT_BODIES
    }
    assert grants == {
        "billing-ingest": {"s3:PutObject"},
        "billing-reconcile": {"s3:PutObject"},
        "billing-process": {"s3:GetObject", "s3:DeleteObject"},
        # An erasure's verification reads every bucket and deletes a body naming the subject;
        # the compliance checker reads every bucket and its settings.
        "privacy-worker": {"s3:ListBucket", "s3:GetObject", "s3:DeleteObject"},
        "privacy-compliance": {"s3:ListBucket", "s3:GetObject", *topology.BUCKET_SETTINGS_READS},
    }


def test_the_local_runner_passes_a_bucket_name_only_to_its_declarers() -> None:
    from infra.local.config import LocalConfig
    from infra.local.functions import function_env
    from infra.local.provision import Resources

    made = Resources(
        tables={t.name: f"local-{t.name}" for t in topology.TABLES},
        queue_urls={q.name: f"http://sqs/{q.name}" for q in topology.QUEUES},
        dlq_urls={q.name: f"http://sqs/{q.dlq_name}" for q in topology.QUEUES},
        secret_arns={s.name: f"arn:secret:{s.name}" for s in topology.SECRETS},
        keys={k.name: f"arn:key:{k.name}" for k in topology.KEYS},
        buckets={b.name: f"local-{b.name}" for b in topology.BUCKETS},
        email_templates={t.name: f"local-{t.name}" for t in topology.EMAIL_TEMPLATES},
    )
    jobs = {job: f"local-{fn.name}" for job, fn in topology.jobs().items()}
    for fn in topology.FUNCTIONS:
        env = function_env(fn, LocalConfig(), made, jobs)
        declared = {access.bucket for access in fn.buckets}
        for bucket in topology.BUCKETS:
            if bucket in declared:
                assert env[bucket.env_var] == f"local-{bucket.name}", fn.name
            else:
                assert bucket.env_var not in env, fn.name


def test_every_function_with_an_api_key_route_can_read_operator_sessions() -> None:
    # The kernel's auth takes a dashboard session cookie wherever it takes an API key.
    for fn in topology.FUNCTIONS:
        if any(route.auth == "api_key" for route in fn.routes):
            [sessions] = [a for a in fn.all_tables if a.table == topology.OPERATOR_SESSIONS_TABLE]
            assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= set(sessions.actions), fn.name


def test_only_the_sign_in_function_carries_argon2() -> None:
    carriers = [fn.name for fn in topology.FUNCTIONS if topology.OPERATORS_LAYER in fn.layers]
    assert carriers == ["operator-auth"]
