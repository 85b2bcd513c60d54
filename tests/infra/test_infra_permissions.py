"""Least privilege: every role names exactly the resources its topology entry declares."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from infra_synth import Synth, refs, render

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")

# The specification, written out here rather than imported, so the test can disagree.
READ = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
}
WRITE = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
QUERY = {"dynamodb:Query"}  # a declared IndexRead: that index only
SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes"}
CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
}
SECRET = {"secretsmanager:GetSecretValue"}
KMS = {"kms:Decrypt", "kms:GenerateDataKey"}
# Called directly on the PII key: writers create data keys, readers only unwrap them.
PII_KEY_ACTIONS = {
    "none": set(),
    "read": {"kms:Decrypt"},
    "write": {"kms:Decrypt", "kms:GenerateDataKey"},
}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
INVOKE = {"lambda:InvokeFunction"}
S3_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
EMAIL = {"ses:SendTemplatedEmail"}
SES_ARN = "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>"


def statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    """Every statement granted to a role: inline policies and any attached AWS::IAM::Policy."""
    role = synth.resources[role_id]["Properties"]
    found = [
        s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]
    ]
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if role_id in refs(policy["Properties"].get("Roles", [])):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(synth: Synth, role_id: str) -> dict[str, set[str]]:
    """Action -> logical ids of the resources it is allowed on."""
    grants: dict[str, set[str]] = defaultdict(set)
    for statement in statements(synth, role_id):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                ids = refs(resource)
                # An ARN built from pseudo parameters (SES identities, templates) is compared
                # as rendered text: its only references are account, region and partition.
                if any(i.startswith("AWS::") for i in ids):
                    ids = {render(resource)}
                grants[action] |= ids or {resource}
    return dict(grants)


def declared_reads(fn: topology.Function) -> set[topology.Table]:
    """Declared tables, plus the subject keys for any use of personal data."""
    return set(fn.reads) | ({topology.SUBJECT_KEYS_TABLE} if fn.pii != "none" else set())


def declared_writes(fn: topology.Function) -> set[topology.Table]:
    return set(fn.writes) | ({topology.SUBJECT_KEYS_TABLE} if fn.pii == "write" else set())


def declared_secrets(fn: topology.Function) -> set[topology.Secret]:
    return set(fn.secrets) | ({topology.PII_BLIND_INDEX_KEY} if fn.pii_lookups else set())


def pii_key_id(synth: Synth) -> str:
    return synth.id(synth.stack.data.keys[topology.PII_KEY.name])


def expected(synth: Synth, fn: topology.Function) -> dict[str, set[str]]:
    stack = synth.stack
    table = {name: synth.id(t) for name, t in stack.data.tables.items()}
    queue = {name: synth.id(q) for name, q in stack.queues.queues.items()}
    secret = {name: synth.id(s) for name, s in stack.secrets.secrets.items()}
    bucket = {name: synth.id(b) for name, b in stack.buckets.buckets.items()}
    grants: dict[str, set[str]] = defaultdict(set)

    def allow(actions: set[str], ids: set[str]) -> None:
        for action in actions:
            grants[action] |= ids

    allow(LOGS, {log_group_id(synth, fn)})
    allow(READ, {table[t.name] for t in declared_reads(fn)})
    allow(WRITE, {table[t.name] for t in declared_writes(fn)})
    # An index ARN is "<table ARN>/index/<name>": its one reference is the table.
    allow(QUERY, {table[r.table.name] for r in fn.index_reads})
    allow(SEND, {queue[q.name] for q in fn.sends_to})
    allow(CONSUME, {queue[fn.consumes.name]} if fn.consumes else set())
    allow(SECRET, {secret[s.name] for s in declared_secrets(fn)})
    for access in fn.buckets:  # an object ARN is "<bucket ARN>/*": its one reference
        assert set(access.actions) <= S3_OBJECT_ACTIONS
        allow(set(access.actions), {bucket[access.bucket.name]})
    touches = declared_reads(fn) or declared_writes(fn) or fn.index_reads or fn.buckets
    if touches or fn.sends_to or fn.consumes or fn.secrets:
        allow(KMS, {synth.id(stack.data.key)})
    allow(PII_KEY_ACTIONS[fn.pii], {pii_key_id(synth)})
    if fn.emails:
        sender = stack.email.sender
        domain = sender.split("@")[1]
        templates = {
            f"{SES_ARN}:template/<{synth.id(stack.email.templates[t.name])}>" for t in fn.emails
        }
        allow(EMAIL, {f"{SES_ARN}:identity/{sender}", f"{SES_ARN}:identity/{domain}", *templates})
    jobs = topology.jobs()
    allow(INVOKE, {synth.id(stack.functions.functions[jobs[j].name]) for j in fn.invokes})
    return {action: ids for action, ids in grants.items() if ids}


def log_group_id(synth: Synth, fn: topology.Function) -> str:
    config = synth.props(synth.stack.functions.functions[fn.name])["LoggingConfig"]
    return str(config["LogGroup"]["Ref"])


def role_id(synth: Synth, fn: topology.Function) -> str:
    return synth.id(synth.stack.functions.roles[fn.name])


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_role_grants_exactly_what_the_topology_declares(
    synth: Synth, fn: topology.Function
) -> None:
    assert granted(synth, role_id(synth, fn)) == expected(synth, fn)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_runs_as_its_own_role(synth: Synth, fn: topology.Function) -> None:
    props = synth.props(synth.stack.functions.functions[fn.name])
    assert refs(props["Role"]) == {role_id(synth, fn)}


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_reads_reach_only_the_declared_indexes(synth: Synth, fn: topology.Function) -> None:
    arns = {
        render(resource)
        for statement in statements(synth, role_id(synth, fn))
        if "dynamodb:Query" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    want = set()
    for table in declared_reads(fn):
        arn = f"<{synth.id(synth.stack.data.tables[table.name])}.Arn>"
        want |= {arn, *(f"{arn}/index/{index.name}" for index in table.indexes)}
    for index_read in fn.index_reads:
        arn = f"<{synth.id(synth.stack.data.tables[index_read.table.name])}.Arn>"
        want.add(f"{arn}/index/{index_read.index}")
    assert arns == want


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_writers_can_write(synth: Synth, fn: topology.Function) -> None:
    actions = set(granted(synth, role_id(synth, fn)))
    assert bool(actions & WRITE) == bool(declared_writes(fn))


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_producers_can_send(synth: Synth, fn: topology.Function) -> None:
    actions = set(granted(synth, role_id(synth, fn)))
    assert ("sqs:SendMessage" in actions) == bool(fn.sends_to)
    assert ("sqs:ReceiveMessage" in actions) == bool(fn.consumes)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_job_runners_can_invoke(synth: Synth, fn: topology.Function) -> None:
    assert ("lambda:InvokeFunction" in granted(synth, role_id(synth, fn))) == bool(fn.invokes)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_email_is_sent_only_from_the_configured_sender(synth: Synth, fn: topology.Function) -> None:
    found = [
        s
        for s in statements(synth, role_id(synth, fn))
        if any(a.startswith("ses:") for a in as_list(s["Action"]))
    ]
    assert len(found) == (1 if fn.emails else 0)
    for statement in found:
        assert statement["Condition"] == {
            "StringEquals": {"ses:FromAddress": synth.stack.email.sender}
        }


def test_no_role_uses_a_managed_policy_or_a_wildcard(synth: Synth) -> None:
    assert not synth.of_type("AWS::IAM::ManagedPolicy")
    for lid, role in synth.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], lid
        for action, resources in granted(synth, lid).items():
            assert "*" not in action, (lid, action)
            assert "*" not in resources, (lid, action)


def test_function_roles_have_no_separate_default_policies(synth: Synth) -> None:
    # Every grant is inline in the role, so it exists before the function (and its
    # event source mapping) is created.
    function_roles = {synth.id(role) for role in synth.stack.functions.roles.values()}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        assert not refs(policy["Properties"].get("Roles", [])) & function_roles


def test_only_lambda_assumes_a_function_role(synth: Synth) -> None:
    for role in synth.stack.functions.roles.values():
        trust = synth.props(role)["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]


def test_only_functions_declaring_personal_data_can_use_the_pii_key(synth: Synth) -> None:
    users = set()
    for lid in synth.of_type("AWS::IAM::Role"):
        for statement in statements(synth, lid):
            if pii_key_id(synth) in refs(statement["Resource"]):
                users.add(lid)
    declared = {role_id(synth, fn) for fn in topology.FUNCTIONS if fn.pii != "none"}
    assert declared  # billing writes and reads customers' email and name
    assert users == declared


@pytest.mark.parametrize(
    "fn", [f for f in topology.FUNCTIONS if f.pii != "none"], ids=lambda f: f.name
)
def test_the_pii_key_is_usable_only_with_a_subject_encryption_context(
    synth: Synth, fn: topology.Function
) -> None:
    (statement,) = [
        s for s in statements(synth, role_id(synth, fn)) if pii_key_id(synth) in refs(s["Resource"])
    ]
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["subject_id"]},
        "Null": {"kms:EncryptionContextKeys": "false"},
    }


def test_the_pii_key_policy_delegates_to_iam_and_names_no_service(synth: Synth) -> None:
    policy = synth.props(synth.stack.data.keys[topology.PII_KEY.name])["KeyPolicy"]
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert render(statement["Principal"]["AWS"]).endswith(":root")


def test_the_usage_reporter_reads_and_marks_usage_and_reads_only_the_stripe_key(
    synth: Synth,
) -> None:
    fn = topology.function("billing-usage-report")
    stack = synth.stack
    usage = synth.id(stack.data.tables["usage"])
    reports = synth.id(stack.queues.queues["usage-reports"])
    stripe_key = synth.id(stack.secrets.secrets["stripe-api-key"])
    want: dict[str, set[str]] = {a: {log_group_id(synth, fn)} for a in LOGS}
    want |= {a: {usage} for a in READ | WRITE}
    want |= {a: {reports} for a in CONSUME}
    want |= {a: {stripe_key} for a in SECRET}
    want |= {a: {synth.id(stack.data.key)} for a in KMS}
    assert granted(synth, role_id(synth, fn)) == want


def test_the_revenue_rollup_queries_billing_only_through_its_mrr_change_index(
    synth: Synth,
) -> None:
    fn = topology.function("revenue-rollup")
    billing = synth.id(synth.stack.data.tables["billing"])
    touching_billing = [
        s for s in statements(synth, role_id(synth, fn)) if billing in refs(s["Resource"])
    ]
    assert touching_billing == [
        {
            "Sid": "QueryBillingMrrFeed",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [billing, "Arn"]}, "/index/mrr-feed"]]},
        }
    ]
    env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
    assert env["BILLING_TABLE"] == {"Ref": billing}  # the name, to address the index


def test_the_revenue_rollup_reads_and_writes_revenue_and_nothing_else(synth: Synth) -> None:
    fn = topology.function("revenue-rollup")
    stack = synth.stack
    revenue = synth.id(stack.data.tables["revenue"])
    billing = synth.id(stack.data.tables["billing"])
    want: dict[str, set[str]] = {a: {log_group_id(synth, fn)} for a in LOGS}
    want |= {a: {revenue} for a in READ | WRITE}
    want["dynamodb:Query"] = {revenue, billing}  # billing: its mrr-feed index only, as proven above
    want |= {a: {synth.id(stack.data.key)} for a in KMS}
    assert granted(synth, role_id(synth, fn)) == want


def test_the_revenue_api_reads_revenue_and_the_api_keys_only(synth: Synth) -> None:
    fn = topology.function("revenue-api")
    stack = synth.stack
    tables = {synth.id(stack.data.tables["revenue"]), synth.id(stack.data.tables["api-keys"])}
    pepper = synth.id(stack.secrets.secrets["api-key-pepper"])
    want: dict[str, set[str]] = {a: {log_group_id(synth, fn)} for a in LOGS}
    want |= {a: set(tables) for a in READ}
    want |= {a: {pepper} for a in SECRET}
    want |= {a: {synth.id(stack.data.key)} for a in KMS}
    assert granted(synth, role_id(synth, fn)) == want
