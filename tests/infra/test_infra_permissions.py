"""Least privilege: every role names exactly the resources its topology entry declares."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from infra_synth import ROOT, Synth, refs, render
from permissions_table import action_table, actions_by_resource

from infra import topology

ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = pytest.mark.xdist_group("infra")

# The specification, written out here rather than imported, so the test can disagree: for
# each function, every resource its role names and exactly the actions allowed on it, as
# derived from what the function's code does (docs/SECURITY.md, "What each function may do").
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
SEND = {"sqs:SendMessage"}
CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
SECRET = {"secretsmanager:GetSecretValue"}
DELAY_RETRIES = {"sqs:ChangeMessageVisibility"}
DLQ_DEPTH = {"sqs:GetQueueAttributes"}
DECRYPT = {"kms:Decrypt"}
PRODUCE = {"kms:Decrypt", "kms:GenerateDataKey"}  # also encrypts: sends, puts, writes
QUERY = {"dynamodb:Query"}
INVOKE = {"lambda:InvokeFunction"}
EMAIL = {"ses:SendTemplatedEmail"}
VPC = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
SES_ARN = "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>"


def dynamodb(*actions: str) -> set[str]:
    return {f"dynamodb:{action}" for action in actions}


def dunning_emails(sender: str) -> dict[str, set[str]]:
    identities = {f"ses identity/{sender}", f"ses identity/{sender.split('@')[1]}"}
    templates = {f"ses template/{t.name}" for t in topology.DUNNING_EMAILS}
    return {resource: EMAIL for resource in identities | templates}


def specification(sender: str) -> dict[str, dict[str, set[str]]]:
    own_logs = {"own log group": LOGS}
    return {
        "billing-ingest": own_logs
        | {
            "table billing": dynamodb("PutItem"),
            **AUDIT_WRITING,  # webhook.rejected
            "queue billing-events": SEND,
            "bucket event-bodies/*": {"s3:PutObject"},
            "secret stripe-webhook": SECRET,
            "stack key": PRODUCE,
        },
        "billing-process": own_logs
        | {
            "table billing": dynamodb(
                "GetItem",
                "BatchGetItem",
                "Query",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "ConditionCheckItem",
            ),
            "table billing index gsi2": QUERY,
            "table subject-keys": dynamodb("GetItem", "PutItem"),
            "table metrics": dynamodb("UpdateItem"),
            **AUDIT_WRITING,
            "queue billing-events": CONSUME | SEND,
            "bucket event-bodies/*": {"s3:GetObject", "s3:DeleteObject"},
            "secret stripe-api-key": SECRET,
            "secret pii-blind-index-key": SECRET,  # a customer's email_bidx
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
        }
        | dunning_emails(sender),
        "billing-api": own_logs
        | {
            "table billing": dynamodb("GetItem", "BatchGetItem", "Query"),
            "table billing index gsi1": QUERY,
            "table billing index gsi2": QUERY,
            "table billing index gsi3": QUERY,
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "table subject-keys": dynamodb("GetItem"),
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,  # a session's idle end is a write
            "key pii": {"kms:Decrypt"},
        },
        "billing-reconcile": own_logs
        | {
            "table billing": dynamodb("GetItem", "Scan", "PutItem", "UpdateItem"),
            "table billing index gsi2": QUERY,
            "queue billing-events": SEND,
            "bucket event-bodies/*": {"s3:PutObject"},
            "secret stripe-api-key": SECRET,
            "stack key": PRODUCE,
        },
        "billing-usage-report": own_logs
        | {
            "table usage": dynamodb("GetItem", "UpdateItem"),
            "queue usage-reports": CONSUME,
            "secret stripe-api-key": SECRET,
            "stack key": PRODUCE,
        },
        "billing-dunning": own_logs
        | {
            "table billing": dynamodb("GetItem", "PutItem"),
            "table billing index gsi1": QUERY,
            "table subject-keys": dynamodb("GetItem"),
            **AUDIT_WRITING,
            "secret stripe-api-key": SECRET,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt"},
        }
        | dunning_emails(sender),
        "platform-api": own_logs
        | {
            "table api-keys": dynamodb("GetItem", "Scan", "PutItem", "UpdateItem"),
            **SESSION_READING,
            **AUDIT_WRITING,
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,
            "function billing-reconcile": INVOKE,
            "function billing-dunning": INVOKE,
            "function revenue-rollup": INVOKE,
            "function alerts-evaluate": INVOKE,
            "function audit-anchor": INVOKE,
            "function pii-key-rotation": INVOKE,
            "function privacy-compliance": INVOKE,
        },
        "audit-api": own_logs
        | {
            "table audit": dynamodb("Query"),
            "table audit-heads": dynamodb("GetItem"),
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "table metrics": dynamodb("UpdateItem"),
            "bucket audit-anchors/*": {"s3:GetObject"},
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,
        },
        "privacy-api": own_logs
        | {
            **AUDIT_WRITING,
            **SESSION_READING,
            "table privacy": dynamodb("GetItem", "PutItem", "Query"),
            "table api-keys": dynamodb("GetItem"),
            "table subject-keys": dynamodb("GetItem", "PutItem"),
            "queue privacy-requests": SEND,
            "bucket privacy-exports/*": {"s3:GetObject"},  # signs the download URL
            "secret api-key-pepper": SECRET,
            "secret pii-blind-index-key": SECRET,  # an email subject's blind index
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
        },
        # Scans every table and bucket (an erasure's verification); writes where a subject's
        # data is erased or pseudonymised.
        "privacy-worker": own_logs
        | {
            "table privacy": dynamodb("GetItem", "Query", "UpdateItem", "Scan", "DescribeTable"),
            "table billing": dynamodb(
                "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "Scan", "DescribeTable"
            ),
            "table billing index gsi3": QUERY,
            "table billing index customer-email": QUERY,
            "table agents": dynamodb("Query", "DeleteItem", "Scan", "DescribeTable"),
            "table alerts": dynamodb("UpdateItem", "Scan", "DescribeTable"),
            "table alerts index gsi1": QUERY,
            "table revenue": dynamodb("GetItem", "PutItem", "DeleteItem", "Scan", "DescribeTable"),
            "table usage": dynamodb("UpdateItem", "Scan", "DescribeTable"),
            "table metrics": dynamodb("DeleteItem", "Scan", "DescribeTable"),
            "table audit": dynamodb("PutItem", "Scan", "DescribeTable"),
            "table audit-heads": dynamodb("GetItem", "UpdateItem", "Scan", "DescribeTable"),
            "table subject-keys": dynamodb("GetItem", "PutItem", "Scan", "DescribeTable"),
            "table api-keys": dynamodb("Scan", "DescribeTable"),
            "table key-rotations": dynamodb("Scan", "DescribeTable"),
            "table operators": dynamodb("Scan", "DescribeTable"),
            "table operator-sessions": dynamodb("Scan", "DescribeTable"),
            "queue privacy-requests": CONSUME | SEND,  # an erasure's delayed re-check
            "bucket event-bodies": {"s3:ListBucket"},
            "bucket event-bodies/*": {"s3:GetObject", "s3:DeleteObject"},
            "bucket audit-anchors": {"s3:ListBucket"},
            "bucket audit-anchors/*": {"s3:GetObject"},
            "bucket privacy-exports": {"s3:ListBucket"},
            "bucket privacy-exports/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
            "secret pii-blind-index-key": SECRET,  # finds a subject by email; its pseudonym
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
        },
        "audit-anchor": own_logs
        | {
            "table audit": dynamodb("Query", "PutItem"),
            "table audit-heads": dynamodb("Scan", "GetItem", "UpdateItem"),
            "bucket audit-anchors/*": {"s3:PutObject"},
            "stack key": PRODUCE,
        },
        # Outside a rotation there is no previous key: only ReEncryptTo on the current one,
        # which re-wraps nothing (test_the_rotation_job_rewraps_from_the_previous_key_only).
        "pii-key-rotation": own_logs
        | AUDIT_WRITING
        | {
            "table subject-keys": dynamodb("Scan", "GetItem", "UpdateItem"),
            "table key-rotations": dynamodb("GetItem", "PutItem"),
            "key pii": {"kms:ReEncryptTo"},
            "stack key": PRODUCE,
        },
        "revenue-rollup": own_logs
        | {
            "table billing index mrr-feed": QUERY,
            "table revenue": dynamodb(
                "GetItem",
                "BatchGetItem",
                "Query",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "BatchWriteItem",
            ),
            "stack key": PRODUCE,
        },
        "revenue-api": own_logs
        | {
            "table revenue": dynamodb("GetItem", "BatchGetItem"),
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,  # a session's idle end is a write
        },
        "agents-api": own_logs
        | {
            "table agents": dynamodb("GetItem", "Query", "PutItem", "UpdateItem"),
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "table subject-keys": dynamodb("GetItem", "PutItem"),
            **AUDIT_WRITING,  # agent.run.started, agent.run.cancelled
            "queue agent-steps": SEND,
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
        },
        "agents-step": own_logs
        | {
            "table agents": dynamodb("GetItem", "Query", "PutItem", "UpdateItem"),
            "table usage": dynamodb("PutItem"),
            "table metrics": dynamodb("UpdateItem"),
            "table subject-keys": dynamodb("GetItem", "PutItem"),
            **AUDIT_WRITING,  # agent.run.finished
            "queue agent-steps": CONSUME | SEND,
            "queue usage-reports": SEND,
            "secret llm-api-key": SECRET,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
            "function code-validate": INVOKE,  # runs created with validate_code
        }
        | {resource: MODELS for resource in MODEL_RESOURCES},
        **alerts_specification(sender, own_logs),
        # Runs submitted code: its own logs, and the network interfaces Lambda creates with
        # its role in the isolated subnets (EC2 allows these on "*" only).
        "code-validate": own_logs | {"*": VPC},
        "code-validation-api": own_logs
        | {
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,  # a session's idle end is a write
            "function code-validate": INVOKE,
        },
        # Checks passwords and keeps sessions; reads the email sealed in a session.
        "operator-auth": own_logs
        | {
            "table operators": dynamodb("GetItem", "UpdateItem", "DeleteItem"),
            "table operator-sessions": dynamodb("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
            "table subject-keys": dynamodb("GetItem"),
            **AUDIT_WRITING,
            "secret pii-blind-index-key": SECRET,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt"},
        },
    }


def alerts_specification(
    sender: str, own_logs: dict[str, set[str]]
) -> dict[str, dict[str, set[str]]]:
    alerts_items = {
        "table alerts": dynamodb("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"),
        "table alerts index gsi1": QUERY,
    }
    identities = {f"ses identity/{sender}", f"ses identity/{sender.split('@')[1]}"}
    return {
        "alerts-api": own_logs
        | alerts_items
        | {
            "table api-keys": dynamodb("GetItem"),
            **SESSION_READING,
            "table subject-keys": dynamodb("GetItem", "PutItem"),
            **AUDIT_WRITING,  # alert.*.created, alert.acknowledged, alert.resolved
            "queue alert-notifications": SEND,
            "secret api-key-pepper": SECRET,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt", "kms:GenerateDataKey"},
        },
        "alerts-evaluate": own_logs
        | alerts_items
        | {
            "table metrics": dynamodb("Query"),
            **AUDIT_WRITING,  # alert.fired, alert.resolved
            "queue alert-notifications": SEND,
            **{f"queue {q.name}-dlq": DLQ_DEPTH for q in topology.QUEUES},
            "stack key": PRODUCE,
        },
        "alerts-dispatch": own_logs
        | {
            "table alerts": dynamodb("GetItem", "BatchGetItem", "PutItem", "UpdateItem"),
            "table subject-keys": dynamodb("GetItem"),
            "queue alert-notifications": CONSUME | SEND | DELAY_RETRIES,
            "stack key": PRODUCE,
            "key pii": {"kms:Decrypt"},
            "ses template/alert-notification": EMAIL,
        }
        | {identity: EMAIL for identity in identities},
        "alerts-alarms": own_logs
        | {
            "table metrics": dynamodb("UpdateItem"),
            "queue alarm-notifications": CONSUME,
            "stack key": PRODUCE,
        },
        # Every table scanned and its settings read; every bucket listed, read, and its
        # settings read (on the bucket itself); known names unwrapped; a gauge and an entry.
        "privacy-compliance": own_logs
        | {f"table {t.name}": CHECK_STORE for t in topology.TABLES}
        | {f"bucket {b.name}": BUCKET_SETTINGS for b in topology.BUCKETS}
        | {f"bucket {b.name}/*": {"s3:GetObject"} for b in topology.BUCKETS}
        | {
            "table metrics": CHECK_STORE | dynamodb("UpdateItem"),
            "table audit": CHECK_STORE | dynamodb("PutItem"),
            "table audit-heads": CHECK_STORE | dynamodb("GetItem", "UpdateItem"),
            "table subject-keys": CHECK_STORE | dynamodb("GetItem"),
            "key pii": {"kms:Decrypt"},
            "stack key": PRODUCE,
        },
    }


# The Converse API: bedrock:InvokeModel on foundation models and this account's inference
# profiles (the model is chosen per deployment).
MODELS = {"bedrock:InvokeModel"}
MODEL_RESOURCES = (
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/*",
)


# Called directly on the PII key: writers create data keys, readers only unwrap them.
S3_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
# On the bucket itself: listing it, and the compliance checker's reads of its settings.
BUCKET_SETTINGS = {
    "s3:ListBucket",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketVersioning",
}
# The compliance checker on every table: its items, and its SSE, PITR and TTL settings.
CHECK_STORE = dynamodb("Scan", "DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups")
WRITE = dynamodb("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
# Only the functions that list a whole table scan (API keys, stored subscriptions, the audit
# chains' heads), and no one scans an index.
SCANNERS = {
    "platform-api",
    "billing-reconcile",
    "audit-anchor",
    "pii-key-rotation",
    "privacy-worker",  # an erasure verified over every store
    "privacy-compliance",  # plaintext personal data looked for in every store
}
# What every function role is denied on the audit entries' table, whatever it is allowed.
AUDIT_DENIED = dynamodb(
    "UpdateItem", "DeleteItem", "BatchWriteItem", "PartiQLUpdate", "PartiQLDelete"
)
# A dashboard session cookie, wherever an API key is taken: the session read, its idle end.
SESSION_READING = {"table operator-sessions": dynamodb("GetItem", "UpdateItem")}
AUDIT_WRITING = {
    "table audit": dynamodb("PutItem"),
    "table audit-heads": dynamodb("GetItem", "UpdateItem"),
}


def statements(synth: Synth, role_id: str, effect: str = "Allow") -> list[dict[str, Any]]:
    """Every statement of ``effect`` a role has: inline policies and any attached
    AWS::IAM::Policy. (Every function role has one Deny: the audit entries'.)"""
    role = synth.resources[role_id]["Properties"]
    found = [
        s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]
    ]
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if role_id in refs(policy["Properties"].get("Roles", [])):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return [s for s in found if s["Effect"] == effect]


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


def declared_secrets(fn: topology.Function) -> set[topology.Secret]:
    return set(fn.secrets) | ({topology.PII_BLIND_INDEX_KEY} if fn.pii_lookups else set())


def pii_key_id(synth: Synth) -> str:
    return synth.id(synth.stack.data.keys[topology.PII_KEY.name])


def key_id(synth: Synth, key: topology.Key) -> str:
    """A stack key's logical id; an imported key (the previous PII key) is its ARN."""
    found = synth.stack.data.keys[key.name]
    return found.key_arn if key.during_rotation else synth.id(found)


def expected(synth: Synth, fn: topology.Function) -> dict[str, set[str]]:
    """Action -> logical ids, as the topology entry's declarations say (the derivation)."""
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
    for access in fn.all_tables:
        # An index ARN is "<table ARN>/index/<name>": its one reference is the table.
        allow(set(access.actions), {table[access.table.name]})
        allow(QUERY if access.indexes else set(), {table[access.table.name]})
    allow(SEND, {queue[q.name] for q in fn.sends_to})
    allow(CONSUME, {queue[fn.consumes.name]} if fn.consumes else set())
    allow(DELAY_RETRIES, {queue[fn.consumes.name]} if fn.consumes and fn.delays_retries else set())
    dlq = {name: synth.id(q) for name, q in stack.queues.dead_letter_queues.items()}
    allow(DLQ_DEPTH, {dlq[q.name] for q in fn.reads_dlq_depth})
    allow(SECRET, {secret[s.name] for s in declared_secrets(fn)})
    for access in fn.buckets:  # an object ARN is "<bucket ARN>/*": its one reference
        assert set(access.actions) <= S3_OBJECT_ACTIONS | BUCKET_SETTINGS
        allow(set(access.actions), {bucket[access.bucket.name]})
    writes = any(a.writes for a in fn.all_tables)
    puts = any("s3:PutObject" in a.actions for a in fn.buckets)
    if writes or puts or fn.sends_to:
        allow(PRODUCE, {synth.id(stack.data.key)})
    elif fn.all_tables or fn.consumes or declared_secrets(fn) or fn.buckets:
        allow(DECRYPT, {synth.id(stack.data.key)})
    for grant in fn.key_grants:  # the previous PII key only during a rotation
        if grant.key.name in stack.data.keys:
            allow(set(grant.actions), {key_id(synth, grant.key)})
    if fn.emails:
        sender = stack.email.sender
        domain = sender.split("@")[1]
        templates = {
            f"{SES_ARN}:template/<{synth.id(stack.email.templates[t.name])}>" for t in fn.emails
        }
        allow(EMAIL, {f"{SES_ARN}:identity/{sender}", f"{SES_ARN}:identity/{domain}", *templates})
    if fn.calls_models:
        allow(MODELS, set(MODEL_RESOURCES))
    jobs = topology.jobs()
    allow(INVOKE, {synth.id(stack.functions.functions[jobs[j].name]) for j in fn.invokes})
    validator = stack.functions.functions[topology.CODE_VALIDATE]
    allow(INVOKE, {synth.id(validator)} if fn.validates_code else set())
    allow(VPC, {"*"} if fn.isolated else set())
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


def test_each_function_is_allowed_exactly_its_specified_actions_on_each_resource(
    synth: Synth,
) -> None:
    spec = specification(synth.stack.email.sender)
    assert set(spec) == {fn.name for fn in topology.FUNCTIONS}
    for fn in topology.FUNCTIONS:
        assert actions_by_resource(synth, fn) == spec[fn.name], fn.name


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_every_role_is_denied_changing_or_deleting_audit_entries(
    synth: Synth, fn: topology.Function
) -> None:
    (deny,) = statements(synth, role_id(synth, fn), effect="Deny")
    assert set(as_list(deny["Action"])) == AUDIT_DENIED
    assert refs(deny["Resource"]) == {synth.id(synth.stack.data.tables["audit"])}
    assert "/" not in render(deny["Resource"])  # the entries' table itself, no index
    heads = synth.id(synth.stack.data.tables["audit-heads"])
    assert heads not in refs(deny["Resource"])  # heads move: their own table, not denied


def test_the_table_of_actions_per_function_is_written_for_review(synth: Synth) -> None:
    table = action_table(synth)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "permissions.md").write_text(table)
    print(table)  # shown with -s
    for fn in topology.FUNCTIONS:
        assert f"| {fn.name} | own log group | logs: CreateLogStream, PutLogEvents |" in table


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_an_index_is_queried_only_when_declared_and_never_read_otherwise(
    synth: Synth, fn: topology.Function
) -> None:
    declared = {
        f"<{synth.id(synth.stack.data.tables[a.table.name])}.Arn>/index/{index}"
        for a in fn.all_tables
        for index in a.indexes
    }
    found = set()
    for statement in statements(synth, role_id(synth, fn)):
        for resource in as_list(statement["Resource"]):
            if "/index/" in render(resource):
                assert as_list(statement["Action"]) == ["dynamodb:Query"]
                found.add(render(resource))
    assert found == declared


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_the_two_functions_that_list_a_table_may_scan(
    synth: Synth, fn: topology.Function
) -> None:
    assert ("dynamodb:Scan" in granted(synth, role_id(synth, fn))) == (fn.name in SCANNERS)


def test_the_internet_facing_ingest_may_only_put_event_log_items_and_append_audit_entries(
    synth: Synth,
) -> None:
    fn = topology.function("billing-ingest")
    tables = synth.stack.data.tables
    billing, audit, heads = (synth.id(tables[n]) for n in ("billing", "audit", "audit-heads"))
    dynamo = {
        action: resources
        for action, resources in granted(synth, role_id(synth, fn)).items()
        if action.startswith("dynamodb:")
    }
    # webhook.rejected: an entry put and its chain's head read and moved, nothing else.
    assert dynamo == {
        "dynamodb:PutItem": {billing, audit},
        "dynamodb:GetItem": {heads},
        "dynamodb:UpdateItem": {heads},
    }


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_writers_can_write(synth: Synth, fn: topology.Function) -> None:
    actions = set(granted(synth, role_id(synth, fn)))
    assert bool(actions & WRITE) == any(a.writes for a in fn.all_tables)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_producers_can_send(synth: Synth, fn: topology.Function) -> None:
    actions = set(granted(synth, role_id(synth, fn)))
    assert ("sqs:SendMessage" in actions) == bool(fn.sends_to)
    assert ("sqs:ReceiveMessage" in actions) == bool(fn.consumes)


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_declared_job_runners_and_validators_can_invoke(
    synth: Synth, fn: topology.Function
) -> None:
    invokes = "lambda:InvokeFunction" in granted(synth, role_id(synth, fn))
    assert invokes == bool(fn.invokes or fn.validates_code)


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
        isolated = lid in {role_id(synth, fn) for fn in topology.FUNCTIONS if fn.isolated}
        for action, resources in granted(synth, lid).items():
            assert "*" not in action, (lid, action)
            # The one exception: the network interfaces of a function in the isolated subnets.
            assert "*" not in resources or (isolated and action in VPC), (lid, action)


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
    declared = {role_id(synth, fn) for fn in topology.FUNCTIONS if fn.keys}
    assert declared  # billing writes and reads customers' email and name; the rotation job
    assert users == declared


@pytest.mark.parametrize("fn", [f for f in topology.FUNCTIONS if f.keys], ids=lambda f: f.name)
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
            "Sid": "QueryBillingIndexes",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [billing, "Arn"]}, "/index/mrr-feed"]]},
        }
    ]
    env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
    assert env["BILLING_TABLE"] == {"Ref": billing}  # the name, to address the index
