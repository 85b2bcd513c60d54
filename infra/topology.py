"""The ONE declaration of CognitionOS's functions, routes, queues, schedules, tables, buckets
and secrets.

Plain data, no AWS code: the CDK stack (``infra/stack.py``) and the local runner
(``infra/local``) both loop over it, so what runs on a laptop is what deploys. A
permission exists because a line here names the resource, and for a table or a bucket the
action too (``TableAccess``, ``BucketAccess``); environment variables are derived from the
same lines (``Function.resource_env``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from infra import setting_checks

NAMESPACE = "CognitionOS"
RUNTIME = "python3.12"
ARCHITECTURE = "arm64"


def _env_name(name: str, suffix: str) -> str:
    return f"{name.replace('-', '_').upper()}_{suffix}"


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting all attributes."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: on demand, point-in-time recovery, the stack's KMS key."""

    name: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "TABLE")


# The DynamoDB actions a function may be allowed on a table, one by one. A transaction
# (TransactWriteItems) is no action of its own: IAM checks each item's action (a Put is
# PutItem, an Update UpdateItem, a Delete DeleteItem, a ConditionCheck ConditionCheckItem).
TableAction = Literal[
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",  # the table's settings and key schema, no items
    # The compliance checker's reads of a table's retention settings, no items either.
    "dynamodb:DescribeTimeToLive",
    "dynamodb:DescribeContinuousBackups",
]
TABLE_ACTIONS: frozenset[str] = frozenset(get_args(TableAction))
# Actions that change items: a function allowed one of them writes the table.
WRITE_ACTIONS: frozenset[str] = frozenset(
    {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
)


# What the compliance checker reads of a table's settings: SSE (DescribeTable), PITR, TTL.
TABLE_SETTINGS_READS: tuple[TableAction, ...] = (
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:DescribeContinuousBackups",
)
# The checker's declared settings, JSON (Function.store_expectations).
COMPLIANCE_EXPECTATIONS_ENV = "COMPLIANCE_EXPECTATIONS"


@dataclass(frozen=True)
class TableAccess:
    """Exactly these actions on the items of one table, and ``dynamodb:Query`` on exactly
    the named global secondary indexes of it; nothing else of the table.

    ``TableAccess(BILLING_TABLE, ("dynamodb:PutItem",))`` may put items and do nothing else;
    ``TableAccess(BILLING_TABLE, indexes=("mrr-feed",))`` may only query that one index (a
    feed another context publishes through its table). Either way the function gets the
    table's name (``<TABLE>_TABLE``), which DynamoDB needs to address an index too.
    """

    table: Table
    actions: tuple[TableAction, ...] = ()
    indexes: tuple[str, ...] = ()  # queried, each by name

    def __post_init__(self) -> None:
        if not self.actions and not self.indexes:
            raise ValueError(f"access to table {self.table.name} names no action and no index")
        unknown = sorted(set(self.actions) - TABLE_ACTIONS)
        if unknown:
            raise ValueError(f"access to table {self.table.name}: unknown actions {unknown}")
        if len(set(self.actions)) != len(self.actions) or len(set(self.indexes)) != len(
            self.indexes
        ):
            raise ValueError(f"access to table {self.table.name} names an action or index twice")
        names = {index.name for index in self.table.indexes}
        for index in self.indexes:
            if index not in names:
                raise ValueError(f"table {self.table.name} has no index {index!r}")

    @property
    def writes(self) -> bool:
        return bool(WRITE_ACTIONS & set(self.actions))

    def merged(self, other: TableAccess) -> TableAccess:
        """Both accesses to the same table as one: every action and index of either."""
        if other.table != self.table:
            raise ValueError(f"cannot merge access to {self.table.name} and {other.table.name}")
        return TableAccess(
            self.table,
            tuple(dict.fromkeys(self.actions + other.actions)),
            tuple(dict.fromkeys(self.indexes + other.indexes)),
        )


@dataclass(frozen=True)
class Setting:
    """Deployment configuration that is not a resource: one environment variable.

    The stack sets it from CDK context (``-c <context>=...``; cdk.json may hold JSON), the
    local runner from the user's environment variable of the same name; both fall back to
    ``default`` and refuse a value ``check`` rejects. Only functions that declare it get it.
    """

    env: str
    context: str
    default: str
    description: str
    check: Callable[[str], None] = field(compare=False)  # ValueError saying what is wrong


# How long a warm function may use a subject's unwrapped data key from its cache: the bound
# after which an erased subject's data can be decrypted nowhere (cognitionos.crypto). Every
# function handling personal data gets it; an erasure reports completion only once it passed.
KEY_CACHE_MAX_AGE = Setting(
    env="COGNITION_KEY_CACHE_MAX_AGE_S",
    context="keyCacheMaxAgeS",
    default="300",
    description=(
        "Seconds a warm function may keep a subject's data key unwrapped in memory; an "
        "erasure is reported completed only this long after the key was destroyed"
    ),
    check=setting_checks.cache_seconds,
)


@dataclass(frozen=True)
class Queue:
    """An SQS queue with its dead-letter queue (``<name>-dlq``) and a DLQ-depth alarm."""

    name: str
    fifo: bool = False
    max_receives: int = 5
    batch_size: int = 10
    visibility_timeout_s: int = 180
    max_batching_window_s: int = 0

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "QUEUE_URL")

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"

    def physical_name(self, prefix: str, dlq: bool = False) -> str:
        """Queue name with the ``.fifo`` suffix SQS requires for FIFO queues."""
        base = f"{prefix}-{self.dlq_name if dlq else self.name}"
        return f"{base}.fifo" if self.fifo else base


@dataclass(frozen=True)
class DeadLetterQueue:
    """A queue's DLQ, as a function that reads its depth (``sqs:GetQueueAttributes``) sees it:
    its URL in ``<NAME>_DLQ_URL``."""

    queue: Queue

    @property
    def env_var(self) -> str:
        return _env_name(self.queue.name, "DLQ_URL")


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket: the stack's KMS key, no public access, TLS only, no versioning, and
    every object deleted ``expire_after_days`` after it was written."""

    name: str
    expire_after_days: int
    # Object Lock in compliance mode: every object version is kept this many days, and no
    # one (the account's root included) can delete or overwrite it before. Needs versioning.
    object_lock_days: int | None = None

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "BUCKET")


# s3:ListBucket is the bucket's own action (ListObjectsV2): granted on the bucket, the rest
# on its objects. Only the functions that scan every store list a bucket. The settings reads
# (encryption, lifecycle, Object Lock, versioning) are the bucket's own too: only the
# compliance checker has them.
ObjectAction = Literal[
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketVersioning",
]
BUCKET_SETTINGS_READS: tuple[ObjectAction, ...] = (
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketVersioning",
)
BUCKET_LEVEL_ACTIONS: frozenset[str] = frozenset({"s3:ListBucket", *BUCKET_SETTINGS_READS})


@dataclass(frozen=True)
class BucketAccess:
    """Exactly these actions on the objects of one bucket, and no listing of the bucket
    unless ``s3:ListBucket`` is named, so a function that only writes cannot read back what
    others wrote."""

    bucket: Bucket
    actions: tuple[ObjectAction, ...]

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError(f"access to bucket {self.bucket.name} names no action")

    @property
    def object_actions(self) -> tuple[str, ...]:
        return tuple(a for a in self.actions if a not in BUCKET_LEVEL_ACTIONS)

    @property
    def bucket_actions(self) -> tuple[str, ...]:
        return tuple(a for a in self.actions if a in BUCKET_LEVEL_ACTIONS)


@dataclass(frozen=True)
class Secret:
    """A Secrets Manager secret. ``generated``: random at deploy; otherwise the operator sets it."""

    name: str
    description: str
    generated: bool = False
    rotation_note: str | None = None  # why rotation is an operator action (cdk-nag SMG4)

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "SECRET_ID")


@dataclass(frozen=True)
class Key:
    """A customer-managed KMS key of its own: yearly rotation, retained when the stack goes.

    Unlike the stack key, which services use on a caller's behalf, a ``Key`` is called
    directly by the functions that declare it; its id (ARN) reaches them as ``<NAME>_KEY_ID``.

    ``during_rotation``: not a key the stack makes but the one it is rotating away from,
    present only while an operator rotates (the stack imports it by the ARN in CDK context
    ``rotation_context``; the local runner makes one when ``COGNITION_PII_KEY_ROTATION=on``).
    Without it, its functions get neither its variable nor a grant on it.
    """

    name: str
    description: str
    during_rotation: bool = False
    rotation_context: str | None = None

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "KEY_ID")


# The KMS actions a function may be granted on a topology Key, always with an encryption
# context naming the subject and nothing else (infra/constructs/policies.py).
KeyAction = Literal["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]


@dataclass(frozen=True)
class KeyGrant:
    """Exactly these actions on one topology Key."""

    key: Key
    actions: tuple[KeyAction, ...]


# How a function handles personal data (docs/SECURITY.md): "write" encrypts it (and may
# erase a subject), "read" only decrypts it; both compute blind indexes for lookups.
PersonalData = Literal["none", "read", "write"]


@dataclass(frozen=True)
class EmailTemplate:
    """An SES email template (Handlebars ``{{placeholders}}``), created by the stack and the
    local runner; a function that ``emails`` it may send it from the configured sender."""

    name: str
    subject: str
    text: str
    html: str

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "EMAIL_TEMPLATE")

    def physical_name(self, prefix: str) -> str:
        return f"{prefix}-{self.name}"


# The From address of every email, set per deployment (CDK context ``emailSender``; the local
# runner's COGNITION_EMAIL_SENDER); a function that ``emails`` gets it in this variable.
EMAIL_SENDER_ENV = "EMAIL_SENDER"

Auth = Literal["api_key", "stripe_signature", "none"]


@dataclass(frozen=True)
class Route:
    """An HTTP API route. ``api_key`` routes check the key inside the function (kernel auth)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    auth: Auth = "api_key"

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule (``rate(...)`` or ``cron(...)``, UTC) firing a job."""

    expression: str


# What an environment variable of a function can carry the name, URL or ARN of.
Resource = Table | Queue | Secret | Key | EmailTemplate | Bucket | DeadLetterQueue


@dataclass(frozen=True)
class DependencyLayer:
    """Third-party packages that only some functions need, in a layer of their own on top of
    the shared one (requirements.txt), so no other function's size or cold start pays for them.

    ``requirements`` is a pinned file at the repository root; the layer holds its packages and
    their dependencies minus whatever requirements.txt already ships.
    """

    name: str
    requirements: str


@dataclass(frozen=True)
class Function:
    """One Lambda function: python3.12 on arm64 with the dependency layer, its own
    ``layers`` (if any) and the kernel layer."""

    name: str
    handler: str
    description: str
    memory_mb: int = 256
    timeout_s: int = 29
    routes: tuple[Route, ...] = ()
    consumes: Queue | None = None
    sends_to: tuple[Queue, ...] = ()
    # DynamoDB: one entry per table, each naming its actions and queried indexes.
    tables: tuple[TableAccess, ...] = ()
    secrets: tuple[Secret, ...] = ()
    job: str | None = None
    schedule: Schedule | None = None
    invokes: tuple[str, ...] = field(default=())  # job names this function may run synchronously
    pii: PersonalData = "none"
    pii_lookups: bool = False  # finds subjects by a blind index: reads the blind-index key
    emails: tuple[EmailTemplate, ...] = ()  # SES templates this function sends
    settings: tuple[Setting, ...] = ()  # deployment configuration, as environment variables
    buckets: tuple[BucketAccess, ...] = ()  # object actions on S3 buckets
    calls_models: bool = False  # Amazon Bedrock: bedrock:InvokeModel (the Converse API)
    # Alerts: the DLQs whose depth the function reads (sqs:GetQueueAttributes on each).
    reads_dlq_depth: tuple[Queue, ...] = ()
    # A consumer that delays its own retries (sqs:ChangeMessageVisibility on its queue).
    delays_retries: bool = False
    # Uses the Redis cache when the stack has one (-c alertsCache=true): placed in its VPC.
    uses_cache: bool = False
    # Calls the code-validate function (cognitionos.code_validation.validate_code): gets
    # CODE_VALIDATE_FUNCTION and lambda:InvokeFunction on that one function.
    validates_code: bool = False
    # Runs code it did not write: placed in isolated subnets with no route anywhere (no NAT,
    # no endpoints), with a security group that allows nothing in or out.
    isolated: bool = False
    # Reserved concurrency: at most this many at once, and always that many available.
    reserved_concurrency: int | None = None
    layers: tuple[DependencyLayer, ...] = ()  # third-party packages beyond requirements.txt
    # Re-wraps subjects' data keys from the previous PII key to the current one with KMS
    # ReEncrypt (the pii-key-rotation job): never sees a data key, so it is no pii reader.
    rewraps_pii_keys: bool = False
    # The compliance checker: checks stores' settings against these declarations, which it
    # gets as COMPLIANCE_EXPECTATIONS (JSON: the tables and buckets whose settings it may
    # read, ``store_expectations``). Queues are not checked: their URLs would take most of
    # Lambda's 4 KB of environment, and sqs:ListQueues takes no resource.
    checks_store_settings: bool = False

    def __post_init__(self) -> None:
        named = [access.table.name for access in self.tables]
        if len(set(named)) != len(named):
            raise ValueError(f"{self.name} declares access to one table twice: merge the lines")
        if self.rewraps_pii_keys and self.pii != "none":
            raise ValueError(f"{self.name}: a re-wrapping function handles no personal data")
        if self.pii != "none" and KEY_CACHE_MAX_AGE not in self.settings:
            # Every keyring honours the same bound (frozen: set once, here).
            object.__setattr__(self, "settings", (*self.settings, KEY_CACHE_MAX_AGE))

    @property
    def context(self) -> str:
        """The bounded context: the package under ``functions/`` that holds the handler."""
        return self.handler.split(".", 1)[0]

    @property
    def all_tables(self) -> tuple[TableAccess, ...]:
        """Table access: the declared, plus the subject keys for personal data (a reader
        reads a subject's wrapped key; a writer also puts a new one, or a tombstone)."""
        found = {access.table.name: access for access in self.tables}
        if self.pii != "none":
            keys = SUBJECT_KEY_WRITES if self.pii == "write" else SUBJECT_KEY_READS
            name = SUBJECT_KEYS_TABLE.name
            found[name] = found[name].merged(keys) if name in found else keys
        return tuple(found.values())

    @property
    def all_secrets(self) -> tuple[Secret, ...]:
        """Secrets read: the declared ones, plus the blind-index key for ``pii_lookups``."""
        extra = (PII_BLIND_INDEX_KEY,) if self.pii_lookups else ()
        return tuple(dict.fromkeys(self.secrets + extra))

    @property
    def key_grants(self) -> tuple[KeyGrant, ...]:
        """KMS keys the function calls directly, and how. Writers create data keys under the
        current PII key and unwrap them; readers only unwrap. During a rotation both unwrap
        with the previous key too (data keys not re-wrapped yet), and the re-wrapper may
        ReEncrypt from the previous key to the current one and do nothing else."""
        if self.rewraps_pii_keys:
            return (
                KeyGrant(PII_KEY, ("kms:ReEncryptTo",)),
                KeyGrant(PII_PREVIOUS_KEY, ("kms:ReEncryptFrom",)),
            )
        if self.pii == "none":
            return ()
        current: tuple[KeyAction, ...] = (
            ("kms:Decrypt", "kms:GenerateDataKey") if self.pii == "write" else ("kms:Decrypt",)
        )
        return KeyGrant(PII_KEY, current), KeyGrant(PII_PREVIOUS_KEY, ("kms:Decrypt",))

    @property
    def keys(self) -> tuple[Key, ...]:
        """KMS keys the function calls directly (``key_grants``)."""
        return tuple(grant.key for grant in self.key_grants)

    def resource_env(self) -> dict[str, Resource]:
        """Environment variable -> the resource whose name/URL/ARN it carries."""
        env: dict[str, Resource] = {}
        for table_access in self.all_tables:
            env[table_access.table.env_var] = table_access.table
        for queue in self.sends_to:
            env[queue.env_var] = queue
        for secret in self.all_secrets:
            env[secret.env_var] = secret
        for key in self.keys:
            env[key.env_var] = key
        for template in self.emails:
            env[template.env_var] = template
        for access in self.buckets:
            env[access.bucket.env_var] = access.bucket
        for queue in self.reads_dlq_depth:
            env[DeadLetterQueue(queue).env_var] = DeadLetterQueue(queue)
        return env

    def static_env(self) -> dict[str, str]:
        env = {
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "LOG_LEVEL": "INFO",
        }
        if self.checks_store_settings:
            env[COMPLIANCE_EXPECTATIONS_ENV] = json.dumps(
                self.store_expectations(), sort_keys=True, separators=(",", ":")
            )
        return env

    def store_expectations(self) -> dict[str, dict[str, dict[str, str | int | None]]]:
        """The settings the topology declares for the stores whose settings this function
        reads: each table's TTL attribute, each bucket's expiry and lock (the stack sets the
        rest, PITR and KMS encryption, alike for every store)."""
        tables: dict[str, dict[str, str | int | None]] = {
            a.table.name: {"ttl_attribute": a.table.ttl_attribute}
            for a in self.all_tables
            if set(TABLE_SETTINGS_READS) <= set(a.actions)
        }
        buckets: dict[str, dict[str, str | int | None]] = {
            a.bucket.name: {
                "expire_after_days": a.bucket.expire_after_days,
                "object_lock_days": a.bucket.object_lock_days,
            }
            for a in self.buckets
            if set(BUCKET_SETTINGS_READS) <= set(a.actions)
        }
        return {"tables": tables, "buckets": buckets}


# --- tables -------------------------------------------------------------------------------

BILLING_TABLE = Table(
    "billing",
    indexes=(
        # event log by status (gsi1pk = "EVENTS#<status>") and all events (gsi2pk = "EVENTS"),
        # both sorted by "<created>#<event id>"; gsi3 lists a customer's items. Dunning cases:
        # gsi1pk = "DUNNING" sorted by "<status>#<opened>#<invoice>", gsi2pk =
        # "DUNNING#SUBSCRIPTION#<id>" (a subscription's cases).
        Index("gsi1", "gsi1pk", "gsi1sk"),
        Index("gsi2", "gsi2pk", "gsi2sk"),
        Index("gsi3", "gsi3pk", "gsi3sk"),
        # Sparse: only MRR change records carry feed_pk, so the revenue context can be
        # allowed this index and nothing else of the billing table (cognitionos.mrr_feed).
        Index("mrr-feed", "feed_pk", "feed_sk"),
        # Sparse: only customers' state items carry email_bidx, the keyed blind index of
        # their email, so a subject named by email (GDPR requests) is found without it.
        Index("customer-email", "email_bidx", "pk"),
    ),
    ttl_attribute="expires_at",
)
API_KEYS_TABLE = Table("api-keys", partition_key="key_id", sort_key=None)
# Each subject's data key, wrapped by PII_KEY (cognitionos.crypto.SubjectKeyring).
SUBJECT_KEYS_TABLE = Table("subject-keys", partition_key="subject_id", sort_key=None)
# Usage records (cognitionos.usage): one item per billable fact, keyed by its deterministic id,
# which is also the Stripe meter event identifier. Any context that meters usage writes here.
USAGE_TABLE = Table("usage", partition_key="usage_id", sort_key=None, ttl_attribute="expires_at")
# Revenue's own state: rollup cursor, per-customer MRR timelines, per-year month totals.
REVENUE_TABLE = Table("revenue")
# Agent runs, their steps and outputs, run summaries, tenants' long-term memory, and the
# per-model token calibration (functions/agents/dal). Runs expire 30 days after creation.
AGENTS_TABLE = Table("agents", ttl_attribute="expires_at")
# The audit log (cognitionos.audit): entries (pk = chain, sk = 12-digit seq) and the anchor
# records (pk = "ANCHORS#<chain>"), put once each and never changed: every function is denied
# UpdateItem and DeleteItem on this table (infra/constructs/policies.py). No TTL.
AUDIT_TABLE = Table("audit")
# One item per chain, its last seq and hash: the only audit item an append updates, in a
# table of its own so that the deny above names the entries' table exactly.
AUDIT_HEADS_TABLE = Table("audit-heads", partition_key="chain", sort_key=None)
# The pii-key-rotation job's progress, one item per key rotated to (its ARN): the cursor in
# the subject-keys table and the pass's counts (platform_api.dal.key_rotations).
KEY_ROTATIONS_TABLE = Table("key-rotations", partition_key="target_key_id", sort_key=None)
# Operators (functions/operators): one item per operator, keyed by a blind index of the
# normalised email ("OPERATOR#<index>"), with the email sealed under the operator's own data
# key and the Argon2id PHC string; and the failed sign-ins of each email hash
# ("ATTEMPTS#<index>", whether or not an operator has that email), TTL'd a day after the
# last failure.
OPERATORS_TABLE = Table("operators", sort_key=None, ttl_attribute="expires_at")
# Dashboard sessions (cognitionos.sessions): keyed by the SHA-256 of the cookie's token, TTL'd
# at the absolute end; every read checks the ends itself.
OPERATOR_SESSIONS_TABLE = Table(
    "operator-sessions", partition_key="session_hash", sort_key=None, ttl_attribute="expires_at"
)
TABLES: tuple[Table, ...] = (
    BILLING_TABLE,
    API_KEYS_TABLE,
    SUBJECT_KEYS_TABLE,
    USAGE_TABLE,
    REVENUE_TABLE,
    AGENTS_TABLE,
    AUDIT_TABLE,
    AUDIT_HEADS_TABLE,
    KEY_ROTATIONS_TABLE,
    OPERATORS_TABLE,
    OPERATOR_SESSIONS_TABLE,
)
# Actions no function may take on audit entries, whatever else it is allowed.
AUDIT_DENIED_ACTIONS = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",  # its deletes
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)
# What a function that records audit events adds to its ``tables``
# (cognitionos.audit.store.AuditLog.record): one transaction of a conditional Put of the
# entry and a conditional Update of its chain's head; the head read when not known yet.
AUDIT_WRITING = (
    TableAccess(AUDIT_TABLE, ("dynamodb:PutItem",)),
    TableAccess(AUDIT_HEADS_TABLE, ("dynamodb:GetItem", "dynamodb:UpdateItem")),
)

# Business metrics (cognitionos.metrics_store): one item per (metric, labels, minute), TTL'd.
METRICS_TABLE = Table("metrics", ttl_attribute="expires_at")
TABLES += (METRICS_TABLE,)
# What an emitting function adds to its ``tables``: one UpdateItem per emission (ADD for a
# counter, SET for a gauge), never a read.
METRIC_RECORDING = TableAccess(METRICS_TABLE, ("dynamodb:UpdateItem",))

# What personal data needs of the subject keys (cognitionos.crypto.SubjectKeyring): a
# reader gets a subject's wrapped key (one consistent GetItem); a writer also puts the key
# it creates (conditional PutItem), or the tombstone that erases the subject.
SUBJECT_KEY_READS = TableAccess(SUBJECT_KEYS_TABLE, ("dynamodb:GetItem",))
SUBJECT_KEY_WRITES = TableAccess(SUBJECT_KEYS_TABLE, ("dynamodb:GetItem", "dynamodb:PutItem"))

# Billing's MRR change feed (cognitionos.mrr_feed): a sparse index holding only MRR change
# records, by write time. Revenue reads billing through this and nothing else.
MRR_CHANGE_FEED = TableAccess(BILLING_TABLE, indexes=("mrr-feed",))

# cognitionos.usage.record_usage: one conditional put (the old record comes back with a
# failed condition, so no read); a caller also declares sends_to=(USAGE_REPORTS,).
USAGE_RECORDING = TableAccess(USAGE_TABLE, ("dynamodb:PutItem",))

# --- keys ---------------------------------------------------------------------------------

PII_KEY = Key("pii", "CognitionOS: wraps the per-subject data keys that encrypt personal data")
KEYS = (PII_KEY,)
# A rotation of the PII key (docs/runbooks/pii-key-rotation.md): CDK context piiKeyGeneration
# gives the stack a fresh PII key (the old one stays in the account, retained), and
# piiPreviousKeyArn names the old one until every data key is re-wrapped under the new.
PII_PREVIOUS_KEY = Key(
    "pii-previous",
    "The PII key being rotated away from: data keys it wrapped are re-wrapped by the job",
    during_rotation=True,
    rotation_context="piiPreviousKeyArn",
)
PII_KEY_GENERATION_CONTEXT = "piiKeyGeneration"

# --- queues -------------------------------------------------------------------------------

# Group = Stripe customer, so one customer's events are applied one at a time.
BILLING_EVENTS = Queue("billing-events", fifo=True, max_receives=5, batch_size=10)
# Usage record ids to report to Stripe; order does not matter, duplicates are harmless.
USAGE_REPORTS = Queue("usage-reports", max_receives=5, batch_size=10)
# One step of one agent run per message (batch of one: parallel tasks run in parallel
# Lambdas). Standard: duplicates and reordering are harmless, each step is claimed once.
# Visibility is 6x the step's 90 s timeout (Lambda's rule), so a live step is never
# delivered again; a step whose Lambda died resumes once it runs out.
AGENT_STEPS = Queue("agent-steps", max_receives=5, batch_size=1, visibility_timeout_s=540)
# The privacy worker's exports and erasures, one per message; it is idempotent on the request
# id. Few and slow: a batch of one, visibility 6x the worker's timeout (Lambda's rule).
# Declared with the other queues, so that alerts-evaluate watches its DLQ too.
PRIVACY_REQUESTS = Queue(
    "privacy-requests", max_receives=3, batch_size=1, visibility_timeout_s=5400
)
QUEUES: tuple[Queue, ...] = (BILLING_EVENTS, USAGE_REPORTS, AGENT_STEPS, PRIVACY_REQUESTS)

# --- buckets ------------------------------------------------------------------------------

# Stripe event bodies too large to queue (billing's claim checks): each is deleted once its
# event is applied. The rest expire after the longest a message can wait for its body: 4
# days in billing-events (SQS's default retention, which the stack keeps) plus 14 in its
# DLQ (a FIFO message's age starts again there). Personal data: kept no longer than that.
EVENT_BODIES = Bucket("event-bodies", expire_after_days=18)
# Each audit chain's head, daily (cognitionos.audit.anchors): locked in compliance mode for
# 400 days (a year of audit plus slack), then expired. No personal data: seqs and hashes.
AUDIT_ANCHORS = Bucket("audit-anchors", expire_after_days=401, object_lock_days=400)
BUCKETS: tuple[Bucket, ...] = (EVENT_BODIES, AUDIT_ANCHORS)

# --- secrets ------------------------------------------------------------------------------

STRIPE_WEBHOOK_SECRET = Secret(
    "stripe-webhook", "Stripe webhook signing secret (whsec_...); set it after deploying"
)
STRIPE_API_KEY = Secret(
    "stripe-api-key", "Stripe restricted API key (rk_... or sk_...) for reconciliation; optional"
)
API_KEY_PEPPER = Secret(
    "api-key-pepper",
    "HMAC pepper for API key hashes; rotate it with a grace period (docs/runbooks/key-rotation.md)",
    True,
)
PII_BLIND_INDEX_KEY = Secret(
    "pii-blind-index-key",
    "HMAC key for blind indexes of personal data (lookups without plaintext)",
    True,
    rotation_note="a new key orphans every stored blind index until they are all recomputed.",
)
LLM_API_KEY = Secret(
    "llm-api-key",
    "API key of the agents' openai or anthropic provider (sk-...); set it after deploying "
    "when one of them is chosen",
    rotation_note="the model provider issues it: roll it there, then set it here.",
)
SECRETS = (
    STRIPE_WEBHOOK_SECRET,
    STRIPE_API_KEY,
    API_KEY_PEPPER,
    PII_BLIND_INDEX_KEY,
    LLM_API_KEY,
)

# --- settings -----------------------------------------------------------------------------

FX_RATES = Setting(
    env="COGNITION_FX_RATES",
    context="fxRates",
    default="{}",
    description=(
        'Fixed exchange rates to the reporting currency, a JSON object such as {"eur": 1.08}: '
        "an amount in eur counts 1.08 times its value"
    ),
    check=setting_checks.fx_rates,
)
REPORTING_CURRENCY = Setting(
    env="COGNITION_REPORTING_CURRENCY",
    context="reportingCurrency",
    default="usd",
    description="The currency revenue figures are reported in (lower-case ISO 4217 code)",
    check=setting_checks.currency_code,
)
LLM_PROVIDER = Setting(
    env="COGNITION_LLM_PROVIDER",
    context="llmProvider",
    default="replay",
    description=(
        "Who answers the agents' model calls: openai (any OpenAI-compatible server), "
        "bedrock, anthropic, or replay (a recorded run, no model at all)"
    ),
    check=setting_checks.llm_provider,
)
LLM_MODEL = Setting(
    env="COGNITION_LLM_MODEL",
    context="llmModel",
    default="replay",
    description="The model the agents call (e.g. gpt-4o-mini, llama3.2, a Bedrock model id)",
    check=setting_checks.non_empty,
)
LLM_PRICES = Setting(
    env="COGNITION_LLM_PRICES",
    context="llmPrices",
    default="{}",
    description=(
        'USD per million tokens, a JSON object such as {"llama3.2": {"input": 0, '
        '"output": 0}}; models it does not name are priced from genai-prices'
    ),
    check=setting_checks.llm_prices,
)
OPENAI_BASE_URL = Setting(
    env="OPENAI_BASE_URL",
    context="openaiBaseUrl",
    default="",
    description="The OpenAI-compatible server's base URL (http://127.0.0.1:11434/v1 for Ollama)",
    check=setting_checks.empty_or_url,
)
LLM_CONTEXT_TOKENS = Setting(
    env="COGNITION_LLM_CONTEXT_TOKENS",
    context="llmContextTokens",
    default="8192",
    description="The model's context window in tokens: prompts are packed under 90% of it",
    check=setting_checks.token_count,
)
# The model providers' SDKs, the price table and BM25: the agent step's alone.
AGENTS_LAYER = DependencyLayer("agents", "requirements-agents.txt")

LLM_SETTINGS = (LLM_PROVIDER, LLM_MODEL, LLM_PRICES, OPENAI_BASE_URL, LLM_CONTEXT_TOKENS)
SETTINGS: tuple[Setting, ...] = (FX_RATES, REPORTING_CURRENCY, *LLM_SETTINGS, KEY_CACHE_MAX_AGE)

# --- email templates ----------------------------------------------------------------------

_DUNNING_FOOTER = (
    "You can pay the invoice or update your payment method here: {{invoice_url}}\n\n"
    "If you have already paid, please ignore this message."
)
DUNNING_PAYMENT_FAILED_EMAIL = EmailTemplate(
    "dunning-payment-failed",
    subject="Your payment of {{amount}} {{currency}} failed",
    text=(
        "We could not collect your payment of {{amount}} {{currency}} (attempt {{attempt}}).\n"
        "{{#if next_attempt}}We will try again on {{next_attempt}}.{{else}}"
        "We will not retry automatically.{{/if}}\n\n" + _DUNNING_FOOTER
    ),
    html=(
        "<p>We could not collect your payment of {{amount}} {{currency}} "
        "(attempt {{attempt}}).</p><p>{{#if next_attempt}}We will try again on "
        "{{next_attempt}}.{{else}}We will not retry automatically.{{/if}}</p>"
        '<p><a href="{{invoice_url}}">Pay the invoice or update your payment method</a></p>'
    ),
)
DUNNING_REMINDER_EMAIL = EmailTemplate(
    "dunning-reminder",
    subject="We will retry your payment of {{amount}} {{currency}} on {{next_attempt}}",
    text=(
        "Your invoice of {{amount}} {{currency}} is still unpaid. We will retry the payment "
        "on {{next_attempt}}.\n\n" + _DUNNING_FOOTER
    ),
    html=(
        "<p>Your invoice of {{amount}} {{currency}} is still unpaid. We will retry the "
        "payment on {{next_attempt}}.</p>"
        '<p><a href="{{invoice_url}}">Pay the invoice or update your payment method</a></p>'
    ),
)
DUNNING_FINAL_NOTICE_EMAIL = EmailTemplate(
    "dunning-final-notice",
    subject="Final notice: your invoice of {{amount}} {{currency}} is unpaid",
    text=(
        "We tried {{attempt}} times to collect your invoice of {{amount}} {{currency}} and "
        "will not retry automatically. Please pay it to keep your subscription.\n\n"
        + _DUNNING_FOOTER
    ),
    html=(
        "<p>We tried {{attempt}} times to collect your invoice of {{amount}} {{currency}} "
        "and will not retry automatically. Please pay it to keep your subscription.</p>"
        '<p><a href="{{invoice_url}}">Pay the invoice</a></p>'
    ),
)
DUNNING_EMAILS = (
    DUNNING_PAYMENT_FAILED_EMAIL,
    DUNNING_REMINDER_EMAIL,
    DUNNING_FINAL_NOTICE_EMAIL,
)
EMAIL_TEMPLATES: tuple[EmailTemplate, ...] = DUNNING_EMAILS

# Every /v1 function checks API keys itself (kernel auth): one consistent GetItem of the
# key's item, and the pepper.
API_KEY_AUTH = TableAccess(API_KEYS_TABLE, ("dynamodb:GetItem",))
API_KEY_AUTH_SECRETS = (API_KEY_PEPPER,)
# ... and a request without a key but with an operator's session cookie: one consistent
# GetItem of the session, and an UpdateItem at most once a minute that slides its idle end.
# Every function with an api_key route declares it next to its API-key access.
SESSION_AUTH = TableAccess(OPERATOR_SESSIONS_TABLE, ("dynamodb:GetItem", "dynamodb:UpdateItem"))

# --- functions ----------------------------------------------------------------------------

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "billing-ingest",
        handler="billing.handlers.ingest_webhook.lambda_handler",
        description="Verifies Stripe webhooks, logs each event once and queues it",
        routes=(Route("POST", "/webhooks/stripe", auth="stripe_signature"),),
        tables=(
            # The event log: one conditional put; the old item comes back on conflict.
            TableAccess(BILLING_TABLE, ("dynamodb:PutItem",)),
            *AUDIT_WRITING,  # webhook.rejected, at most one per reason a minute (docs/AUDIT.md)
        ),
        sends_to=(BILLING_EVENTS,),
        buckets=(BucketAccess(EVENT_BODIES, ("s3:PutObject",)),),  # a body too large to queue
        secrets=(STRIPE_WEBHOOK_SECRET,),
        timeout_s=10,
    ),
    Function(
        "billing-process",
        handler="billing.handlers.process_events.lambda_handler",
        description="Applies queued Stripe events to billing state, once each",
        consumes=BILLING_EVENTS,
        # A customer whose discount waited for a coupon is derived again in its own group.
        sends_to=(BILLING_EVENTS,),
        tables=(
            TableAccess(
                BILLING_TABLE,
                (
                    # an object's stored version, the event's status, a dunning case, an email
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",  # the coupons a customer's discounts name
                    "dynamodb:Query",  # a customer's history; the customers awaiting a coupon
                    # The event's transaction (dal/billing_state.py): versions, state, tie,
                    # records and coupon markers put, its status updated, markers deleted,
                    # and the coupons still unknown checked. Alone: a coupon read from
                    # Stripe and a dunning case put, a status updated.
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                ),
                indexes=("gsi2",),  # a subscription's dunning cases, closed when it ends
            ),
            METRIC_RECORDING,  # billing.payments_failed, billing.events_failed, billing.mrr
            # billing.event.processed and subscription.changed, inside the event's commit
            *AUDIT_WRITING,
        ),
        # A claim check's body, deleted once its event is applied.
        buckets=(BucketAccess(EVENT_BODIES, ("s3:GetObject", "s3:DeleteObject")),),
        secrets=(STRIPE_API_KEY,),  # optional: re-fetch a tied object, a coupon, an email
        emails=DUNNING_EMAILS,  # the payment-failed notice
        timeout_s=30,
        pii="write",  # customers' email and name, from Stripe customer events
        pii_lookups=True,  # a customer's email_bidx, so GDPR requests can name them by email
    ),
    Function(
        "billing-api",
        handler="billing.handlers.api.lambda_handler",
        description="Billing read API: event log, customers, subscriptions, dunning cases",
        routes=(
            Route("GET", "/v1/billing/events"),
            Route("GET", "/v1/billing/events/{event_id}"),
            Route("GET", "/v1/billing/customers/{customer_id}"),
            Route("GET", "/v1/billing/subscriptions/{subscription_id}"),
            Route("GET", "/v1/billing/dunning"),
        ),
        tables=(
            TableAccess(
                BILLING_TABLE,
                (
                    "dynamodb:GetItem",  # an event, a customer, a subscription
                    "dynamodb:BatchGetItem",  # the coupons of a customer's discounts
                    "dynamodb:Query",  # a customer's history
                ),
                # gsi1: events by status, dunning cases; gsi2: all events; gsi3: a
                # customer's subscriptions, events and dunning cases.
                indexes=("gsi1", "gsi2", "gsi3"),
            ),
            API_KEY_AUTH,
            SESSION_AUTH,
        ),
        secrets=API_KEY_AUTH_SECRETS,
        pii="read",  # shows customers' email and name
    ),
    Function(
        "billing-reconcile",
        handler="billing.handlers.reconcile.lambda_handler",
        description="Catches up on Stripe events whose delivery failed",
        job="billing-reconcile",
        schedule=Schedule("rate(1 hour)"),
        tables=(
            TableAccess(
                BILLING_TABLE,
                (
                    "dynamodb:GetItem",  # the sweep and comparison cursors
                    "dynamodb:Scan",  # nightly: every stored subscription (no index has them)
                    "dynamodb:PutItem",  # an event logged as the webhook logs it; a repair
                    "dynamodb:UpdateItem",  # a cursor advanced
                ),
                indexes=("gsi2",),  # the newest events' API version
            ),
        ),
        sends_to=(BILLING_EVENTS,),
        buckets=(BucketAccess(EVENT_BODIES, ("s3:PutObject",)),),  # as billing-ingest
        secrets=(STRIPE_API_KEY,),
        timeout_s=300,
    ),
    Function(
        "billing-usage-report",
        handler="billing.handlers.report_usage.lambda_handler",
        description="Reports recorded usage to Stripe Billing Meter events, once each",
        consumes=USAGE_REPORTS,
        # The record (consistent read), then marked reported with a conditional update.
        tables=(TableAccess(USAGE_TABLE, ("dynamodb:GetItem", "dynamodb:UpdateItem")),),
        secrets=(STRIPE_API_KEY,),
        timeout_s=30,
    ),
    Function(
        "billing-dunning",
        handler="billing.handlers.dunning_job.lambda_handler",
        description="Dunning: payment reminders before each retry and a final notice",
        job="dunning",
        schedule=Schedule("rate(1 hour)"),
        tables=(
            TableAccess(
                BILLING_TABLE,
                # A case read and put back on its revision; a customer's encrypted email.
                ("dynamodb:GetItem", "dynamodb:PutItem"),
                indexes=("gsi1",),  # the open cases
            ),
            *AUDIT_WRITING,  # dunning.reminder_sent, ..., in the case's own transaction
        ),
        secrets=(STRIPE_API_KEY,),  # a customer's email when billing has none stored yet
        emails=DUNNING_EMAILS,
        pii="read",  # customers' encrypted emails
        timeout_s=300,
    ),
    Function(
        "platform-api",
        handler="platform_api.handlers.api.lambda_handler",
        description="Health, API keys, on-demand jobs, OpenAPI and Swagger UI",
        routes=(
            Route("GET", "/health", auth="none"),
            Route("GET", "/docs", auth="none"),
            Route("GET", "/v1/openapi.json", auth="none"),
            Route("POST", "/v1/api-keys"),
            Route("GET", "/v1/api-keys"),
            Route("DELETE", "/v1/api-keys/{key_id}"),
            Route("POST", "/v1/admin/jobs/{job}"),
        ),
        tables=(
            TableAccess(
                API_KEYS_TABLE,
                (
                    "dynamodb:GetItem",  # a caller's key (API_KEY_AUTH), a revoked key's view
                    "dynamodb:Scan",  # listing keys pages through their small table
                    "dynamodb:PutItem",  # a new key, conditionally
                    "dynamodb:UpdateItem",  # a key revoked
                ),
            ),
            SESSION_AUTH,
            *AUDIT_WRITING,  # api_key.created, api_key.revoked, auth.denied, admin.job.run
        ),
        secrets=(API_KEY_PEPPER,),
        invokes=(
            "billing-reconcile",
            "dunning",
            "revenue-rollup",
            "alerts-evaluate",
            "audit-anchor",
            "pii-key-rotation",
            "privacy-compliance",
        ),
        timeout_s=29,
    ),
    Function(
        "revenue-rollup",
        handler="revenue.handlers.rollup_job.lambda_handler",
        description="Rolls billing's MRR changes up into customer timelines and month totals",
        job="revenue-rollup",
        schedule=Schedule("rate(1 hour)"),
        tables=(
            MRR_CHANGE_FEED,
            TableAccess(
                REVENUE_TABLE,
                (
                    "dynamodb:GetItem",  # the rollup state
                    "dynamodb:BatchGetItem",  # customers' records, years of month totals
                    "dynamodb:Query",  # the stored years, on a full recompute
                    "dynamodb:PutItem",  # a commit's customers and years (a transaction); a year
                    "dynamodb:UpdateItem",  # the lease, the state
                    "dynamodb:DeleteItem",  # a year with no months left
                    "dynamodb:BatchWriteItem",  # every customer, on a full recompute
                ),
            ),
        ),
        settings=(FX_RATES, REPORTING_CURRENCY),
        memory_mb=1024,
        timeout_s=900,
    ),
    Function(
        "revenue-api",
        handler="revenue.handlers.api.lambda_handler",
        description="Revenue read API (MRR, churn, cohorts, forecast) and the dashboard page",
        routes=(
            Route("GET", "/v1/revenue/summary"),
            Route("GET", "/v1/revenue/mrr"),
            Route("GET", "/v1/revenue/churn"),
            Route("GET", "/v1/revenue/cohorts"),
            Route("GET", "/v1/revenue/forecast"),
            Route("GET", "/dashboard", auth="none"),  # the page asks for a key, then calls /v1
        ),
        tables=(
            # The rollup state, then the years of month totals asked for.
            TableAccess(REVENUE_TABLE, ("dynamodb:GetItem", "dynamodb:BatchGetItem")),
            API_KEY_AUTH,
            SESSION_AUTH,
        ),
        secrets=API_KEY_AUTH_SECRETS,
        settings=(FX_RATES, REPORTING_CURRENCY),  # an empty store's figures still name a currency
        memory_mb=512,  # the page inlines a ~200 KB chart library
        timeout_s=29,
    ),
)


AGENT_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "agents-api",
        handler="agents.handlers.api.lambda_handler",
        description="Agent runs API: start a run, read it, cancel it",
        routes=(
            Route("POST", "/v1/agents/runs"),
            Route("GET", "/v1/agents/runs/{run_id}"),
            Route("POST", "/v1/agents/runs/{run_id}/cancel"),
        ),
        tables=(
            TableAccess(
                AGENTS_TABLE,
                (
                    "dynamodb:GetItem",  # a run
                    "dynamodb:Query",  # its task outputs
                    "dynamodb:PutItem",  # a new run, conditionally
                    "dynamodb:UpdateItem",  # cancelled
                ),
            ),
            API_KEY_AUTH,
            *AUDIT_WRITING,  # agent.run.started, .cancelled, in the run's own transaction
            SESSION_AUTH,
        ),
        sends_to=(AGENT_STEPS,),  # a new run's plan step
        secrets=API_KEY_AUTH_SECRETS,
        pii="write",  # goals are sealed with the tenant's data key
    ),
    Function(
        "agents-step",
        handler="agents.handlers.step.lambda_handler",
        description="Executes one step of an agent run per message: plan, task, evaluate, ...",
        consumes=AGENT_STEPS,
        sends_to=(AGENT_STEPS, USAGE_REPORTS),  # the next steps; a tenant's tokens to Stripe
        tables=(
            TableAccess(
                AGENTS_TABLE,
                (
                    "dynamodb:GetItem",  # the run, a step's record, a calibration
                    "dynamodb:Query",  # outputs, summaries, the tenant's long-term memory
                    # A claim (step put + reservation update) and an apply (run, step and
                    # output in one transaction); a summary, a memory, a calibration.
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ),
            ),
            USAGE_RECORDING,
            METRIC_RECORDING,  # agents.cost_usd, agents.runs_failed
            *AUDIT_WRITING,  # agent.run.finished, in the transaction of the step that ends it
        ),
        settings=LLM_SETTINGS,
        secrets=(LLM_API_KEY,),  # the openai and anthropic providers' key
        calls_models=True,  # the bedrock provider
        validates_code=True,  # runs created with validate_code
        layers=(AGENTS_LAYER,),
        pii="write",  # outputs and memory are sealed with the tenant's data key
        memory_mb=512,
        timeout_s=90,  # a model call may take a minute; the queue's visibility is 540 s
    ),
)
FUNCTIONS += AGENT_FUNCTIONS


# --- alerts (functions/alerts) ------------------------------------------------------------

# Channels, rules, silences, alerts, the open alert of each fingerprint, the notification log
# and the DynamoDB rate limiter's buckets. gsi1 lists each kind: gsi1pk = "CHANNELS",
# "RULES", "SILENCES" or "ALERTS", gsi1sk = creation time and id.
ALERTS_TABLE = Table(
    "alerts", indexes=(Index("gsi1", "gsi1pk", "gsi1sk"),), ttl_attribute="expires_at"
)
TABLES += (ALERTS_TABLE,)
# One message per (alert, channel, event), and per channel digest; the consumer delays its own
# retries (backoff with full jitter, Retry-After) through the message's visibility.
ALERT_NOTIFICATIONS = Queue("alert-notifications", max_receives=6, batch_size=10)
QUEUES += (ALERT_NOTIFICATIONS,)
# The stack's CloudWatch alarms publish ALARM and OK to the operators' SNS topic
# (infra/constructs/alarms.py), which delivers each notification raw to these queues; the
# local runner makes the same topic in moto and subscribes them alike (it cannot raise
# alarms: publish a notification to the topic, events/sqs/alarm_notifications_batch.json).
ALARM_NOTIFICATIONS = Queue("alarm-notifications", max_receives=5, batch_size=10)
QUEUES += (ALARM_NOTIFICATIONS,)
ALARM_TOPIC_SUBSCRIBERS: tuple[Queue, ...] = (ALARM_NOTIFICATIONS,)
ALERT_EMAIL = EmailTemplate(
    "alert-notification",
    subject="[{{severity}}] {{title}}",
    text="{{text}}\n\nRunbook: {{runbook_url}}\nAlert: {{alert_id}} ({{fingerprint}})",
    html=(
        "<p><strong>[{{severity}}] {{title}}</strong></p><pre>{{text}}</pre>"
        '<p><a href="{{runbook_url}}">Runbook</a> · alert {{alert_id}} ({{fingerprint}})</p>'
    ),
)
EMAIL_TEMPLATES += (ALERT_EMAIL,)
# The alerts table as the API uses it: items read, put and updated, lists by gsi1, and the
# transaction that opens or closes an alert (a Put or Update with its fingerprint's item).
_ALERTS_ITEMS = TableAccess(
    ALERTS_TABLE,
    (
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ),
    indexes=("gsi1",),
)
REDIS_URL = Setting(
    env="REDIS_URL",
    context="redisUrl",
    default="",
    description=(
        "Redis (or Valkey) for the alert channels' rate limits, redis:// or rediss://; empty: "
        "the limits live in DynamoDB. With -c alertsCache=true the stack creates the cache"
    ),
    check=setting_checks.redis_url,
)
SETTINGS += (REDIS_URL,)

ALERTS_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "alerts-api",
        handler="alerts.handlers.api.lambda_handler",
        description="Alert channels, rules, silences, and alerts: list, read, ack, resolve",
        routes=(
            Route("POST", "/v1/alerts/channels"),
            Route("POST", "/v1/alerts/rules"),
            Route("POST", "/v1/alerts/silences"),
            Route("GET", "/v1/alerts"),
            Route("GET", "/v1/alerts/{alert_id}"),
            Route("POST", "/v1/alerts/{alert_id}/ack"),
            Route("POST", "/v1/alerts/{alert_id}/resolve"),
        ),
        # alert.channel.created, .rule.created, .silence.created, .acknowledged, .resolved:
        # each in the transaction of the item it creates or moves.
        tables=(_ALERTS_ITEMS, API_KEY_AUTH, SESSION_AUTH, *AUDIT_WRITING),
        sends_to=(ALERT_NOTIFICATIONS,),  # acknowledged and resolved, to each routed channel
        secrets=API_KEY_AUTH_SECRETS,
        pii="write",  # channel secrets and email recipients, sealed per channel
    ),
    Function(
        "alerts-evaluate",
        handler="alerts.handlers.evaluate_job.lambda_handler",
        description="Evaluates alert rules against the metrics: fires and resolves alerts",
        job="alerts-evaluate",
        schedule=Schedule("rate(1 minute)"),
        tables=(
            _ALERTS_ITEMS,
            TableAccess(METRICS_TABLE, ("dynamodb:Query",)),  # each rule's window
            *AUDIT_WRITING,  # alert.fired, alert.resolved, with the alert's own transaction
        ),
        reads_dlq_depth=QUEUES,  # queue.<name>.dlq_depth
        sends_to=(ALERT_NOTIFICATIONS,),
        timeout_s=50,  # under the minute between runs; overlapping runs are safe anyway
    ),
    Function(
        "alerts-dispatch",
        handler="alerts.handlers.dispatch.lambda_handler",
        description="Delivers alert notifications to Slack, PagerDuty, email and webhooks",
        consumes=ALERT_NOTIFICATIONS,
        delays_retries=True,
        # A digest is queued on this same queue, delayed until the channel has a token.
        sends_to=(ALERT_NOTIFICATIONS,),
        tables=(
            TableAccess(
                ALERTS_TABLE,
                # The alert and the channel; the log entry claimed and settled; the digest
                # pending set; the rate limiter's bucket.
                (
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ),
            ),
        ),
        emails=(ALERT_EMAIL,),
        settings=(REDIS_URL,),
        uses_cache=True,
        pii="read",  # a channel's sealed secrets and recipients
        timeout_s=30,
    ),
    Function(
        "alerts-alarms",
        handler="alerts.handlers.alarms.lambda_handler",
        description="Records the stack's CloudWatch alarm states for the alert rules",
        consumes=ALARM_NOTIFICATIONS,
        tables=(METRIC_RECORDING,),  # cloudwatch.alarm, a gauge per alarm
        timeout_s=10,
    ),
)
FUNCTIONS += ALERTS_FUNCTIONS


# --- code validation (functions/code_validation) --------------------------------------------

CODE_VALIDATE = "code-validate"
# The validator's function name, in every validates_code function (cognitionos.code_validation).
CODE_VALIDATE_ENV = "CODE_VALIDATE_FUNCTION"
# ruff, mypy, bandit and pytest: only the validator carries them.
CODE_VALIDATION_LAYER = DependencyLayer("code-validation", "requirements-code-validation.txt")
CODE_VALIDATION_FUNCTIONS: tuple[Function, ...] = (
    Function(
        CODE_VALIDATE,
        handler="code_validation.handlers.validate.lambda_handler",
        description="Six stages on submitted Python (syntax to tests), each in a sandbox",
        # Nothing: no table, queue, secret or key; its subnets have no route out.
        isolated=True,
        layers=(CODE_VALIDATION_LAYER,),
        # Ten validations at once at most: each may hold 2 GB and a vCPU for 25 s.
        reserved_concurrency=10,
        memory_mb=2048,
        timeout_s=25,
    ),
    Function(
        "code-validation-api",
        handler="code_validation.handlers.api.lambda_handler",
        description="Code validation API: validate a submission in the sandbox",
        routes=(Route("POST", "/v1/code/validations"),),
        tables=(API_KEY_AUTH, SESSION_AUTH),
        secrets=API_KEY_AUTH_SECRETS,
        validates_code=True,
        timeout_s=29,
    ),
)
FUNCTIONS += CODE_VALIDATION_FUNCTIONS


def code_validator() -> Function:
    """The function every ``validates_code`` function may invoke."""
    return function(CODE_VALIDATE)


def dependency_layers() -> tuple[DependencyLayer, ...]:
    """Every function's own layers, each once, in the order functions declare them."""
    return tuple(dict.fromkeys(layer for fn in FUNCTIONS for layer in fn.layers))


# --- audit (cognitionos.audit; functions/platform_api) -------------------------------------

AUDIT_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "audit-api",
        handler="platform_api.handlers.audit_api.lambda_handler",
        description="Audit read API: events, chain verification, export with anchors",
        routes=(
            Route("GET", "/v1/audit/events"),
            Route("GET", "/v1/audit/verify"),
            Route("GET", "/v1/audit/export"),
        ),
        tables=(
            TableAccess(AUDIT_TABLE, ("dynamodb:Query",)),  # a chain's entries and anchors
            TableAccess(AUDIT_HEADS_TABLE, ("dynamodb:GetItem",)),  # the chain's head
            API_KEY_AUTH,
            SESSION_AUTH,
            METRIC_RECORDING,  # audit.verification_failures
        ),
        buckets=(BucketAccess(AUDIT_ANCHORS, ("s3:GetObject",)),),  # anchors, for an export
        secrets=API_KEY_AUTH_SECRETS,
    ),
    Function(
        "audit-anchor",
        handler="platform_api.handlers.audit_anchor_job.lambda_handler",
        description="Writes each audit chain's head to the Object Lock bucket",
        job="audit-anchor",
        schedule=Schedule("cron(15 0 * * ? *)"),  # daily, 00:15 UTC
        tables=(
            # Each chain's latest anchor record (a Query), and the new one (a conditional put);
            # audit.anchored when a run anchored a head that moved (as AUDIT_WRITING).
            TableAccess(AUDIT_TABLE, ("dynamodb:Query", "dynamodb:PutItem")),
            TableAccess(
                AUDIT_HEADS_TABLE, ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem")
            ),
        ),
        buckets=(BucketAccess(AUDIT_ANCHORS, ("s3:PutObject",)),),
        timeout_s=300,
    ),
    Function(
        "pii-key-rotation",
        handler="platform_api.handlers.pii_key_rotation_job.lambda_handler",
        description="Re-wraps every subject's data key under the current PII key (KMS ReEncrypt)",
        job="pii-key-rotation",
        # Every 15 minutes, so a rotation finishes without an operator re-running it: a run
        # resumes from the stored cursor, and once a rotation is done a run is one GetItem.
        schedule=Schedule("rate(15 minutes)"),
        tables=(
            TableAccess(
                SUBJECT_KEYS_TABLE,
                (
                    "dynamodb:Scan",  # every subject's wrapped key, a page at a time
                    "dynamodb:GetItem",  # a subject whose re-wrap lost to another writer
                    "dynamodb:UpdateItem",  # the re-wrapped key, unless it changed or erased
                ),
            ),
            TableAccess(
                KEY_ROTATIONS_TABLE,
                ("dynamodb:GetItem", "dynamodb:PutItem"),  # the cursor and counts of a pass
            ),
            *AUDIT_WRITING,  # key.rotated, one entry per run that examined subjects
        ),
        rewraps_pii_keys=True,
        timeout_s=840,  # under the 15 minutes between runs
    ),
)
FUNCTIONS += AUDIT_FUNCTIONS


# --- operators (functions/operators) --------------------------------------------------------

# Argon2id (argon2-cffi): only the function that checks passwords carries it.
OPERATORS_LAYER = DependencyLayer("operators", "requirements-operators.txt")
OPERATOR_LOCKOUT_FAILURES = Setting(
    env="COGNITION_OPERATOR_LOCKOUT_FAILURES",
    context="operatorLockoutFailures",
    default="5",
    description=(
        "Failed sign-ins in a row for one email before it is locked: 30 s, doubling with "
        "each further failure up to 15 min; a successful sign-in resets the count"
    ),
    check=setting_checks.lockout_failures,
)
SETTINGS += (OPERATOR_LOCKOUT_FAILURES,)
OPERATOR_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "operator-auth",
        handler="operators.handlers.api.lambda_handler",
        description="Operators' dashboard sign-in, session and sign-out (Argon2id, cookies)",
        # Outside /v1: no API key; the function checks passwords and sessions itself.
        routes=(
            Route("POST", "/auth/sign-in", auth="none"),
            Route("POST", "/auth/sign-out", auth="none"),
            Route("GET", "/auth/session", auth="none"),
        ),
        tables=(
            TableAccess(
                OPERATORS_TABLE,
                (
                    "dynamodb:GetItem",  # the operator and the email's failures
                    "dynamodb:UpdateItem",  # a failure counted, a lock set, a rehash
                    "dynamodb:DeleteItem",  # the failures, after a success
                ),
            ),
            TableAccess(
                OPERATOR_SESSIONS_TABLE,
                (
                    "dynamodb:GetItem",  # GET /auth/session, sign-out's check
                    "dynamodb:PutItem",  # a new session, conditionally
                    "dynamodb:UpdateItem",  # its idle end moved on
                    "dynamodb:DeleteItem",  # sign-out
                ),
            ),
            *AUDIT_WRITING,  # operator.signed_in, operator.sign_in_failed, operator.signed_out
        ),
        settings=(OPERATOR_LOCKOUT_FAILURES,),
        layers=(OPERATORS_LAYER,),
        pii="read",  # the operator's email, shown by GET /auth/session
        pii_lookups=True,  # operators are found by a blind index of their email
        # Argon2id at m=19 MiB, t=2: about 45 ms on a full core; at 1024 MB Lambda gives
        # ~0.6 vCPU, so ~80 ms a sign-in, and ample memory for the 19 MiB per hash.
        memory_mb=1024,
        timeout_s=10,
    ),
)
FUNCTIONS += OPERATOR_FUNCTIONS


# --- privacy (functions/privacy) ------------------------------------------------------------

# Privacy requests (pk "REQUEST#<id>": an export's or an erasure's status and result) and the
# append-only consent records (pk "CONSENT#<subject>", sk "<time>#<id>"), identities sealed.
# Export and erasure requests expire a year after they end (expires_at); consents never do.
PRIVACY_TABLE = Table("privacy", ttl_attribute="expires_at")
TABLES += (PRIVACY_TABLE,)
# Article 15 exports: one JSON object per request, under the stack's KMS key, fetched through
# a presigned URL that expires; the object itself is deleted a week after it was written.
PRIVACY_EXPORTS = Bucket("privacy-exports", expire_after_days=7)
BUCKETS += (PRIVACY_EXPORTS,)


def scanning_every_table(*accesses: TableAccess) -> tuple[TableAccess, ...]:
    """``accesses``, plus ``dynamodb:Scan`` on every table declared so far: for the functions
    that look for personal data wherever it could be (an erasure's verification, the
    compliance checker). Declare such functions after the last table."""
    found = {access.table.name: access for access in accesses}
    for table in TABLES:
        scan = TableAccess(table, ("dynamodb:Scan", "dynamodb:DescribeTable"))
        found[table.name] = found[table.name].merged(scan) if table.name in found else scan
    return tuple(found.values())


def reading_every_bucket(*accesses: BucketAccess) -> tuple[BucketAccess, ...]:
    """``accesses``, plus listing and reading every bucket declared so far (as above)."""
    found = {access.bucket.name: access.actions for access in accesses}
    for bucket in BUCKETS:
        actions = found.get(bucket.name, ())
        found[bucket.name] = tuple(dict.fromkeys((*actions, "s3:ListBucket", "s3:GetObject")))
    return tuple(BucketAccess(bucket, found[bucket.name]) for bucket in BUCKETS)


def checking_every_table(*accesses: TableAccess) -> tuple[TableAccess, ...]:
    """``scanning_every_table(accesses)``, plus reading every table's retention settings
    (PITR, TTL; SSE comes with DescribeTable): the compliance checker's."""
    return tuple(
        access.merged(TableAccess(access.table, TABLE_SETTINGS_READS))
        for access in scanning_every_table(*accesses)
    )


def checking_every_bucket(*accesses: BucketAccess) -> tuple[BucketAccess, ...]:
    """``reading_every_bucket(accesses)``, plus reading every bucket's encryption,
    lifecycle, Object Lock and versioning settings: the compliance checker's."""
    return tuple(
        BucketAccess(a.bucket, tuple(dict.fromkeys((*a.actions, *BUCKET_SETTINGS_READS))))
        for a in reading_every_bucket(*accesses)
    )


PRIVACY_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "privacy-api",
        handler="privacy.handlers.api.lambda_handler",
        description="GDPR: export and erasure requests, consent records",
        routes=(
            Route("POST", "/v1/privacy/exports"),
            Route("GET", "/v1/privacy/exports/{request_id}"),
            Route("POST", "/v1/privacy/erasures"),
            Route("GET", "/v1/privacy/erasures/{request_id}"),
            Route("POST", "/v1/privacy/consents"),
            Route("GET", "/v1/privacy/consents"),
        ),
        tables=(
            TableAccess(
                PRIVACY_TABLE,
                (
                    "dynamodb:GetItem",  # a request's status
                    "dynamodb:Query",  # a subject's consent history
                    "dynamodb:PutItem",  # a new request, a consent record (both conditional)
                ),
            ),
            API_KEY_AUTH,
            SESSION_AUTH,
            *AUDIT_WRITING,  # privacy.export.requested, .erasure.requested, consent.recorded
        ),
        sends_to=(PRIVACY_REQUESTS,),
        buckets=(BucketAccess(PRIVACY_EXPORTS, ("s3:GetObject",)),),  # signs the download URL
        secrets=API_KEY_AUTH_SECRETS,
        pii="write",  # consent identities are sealed with the subject's data key
        pii_lookups=True,  # a subject given by email is found by its blind index
    ),
    Function(
        "privacy-worker",
        handler="privacy.handlers.worker.lambda_handler",
        description="GDPR: builds exports and carries out erasures, verified by a scan",
        consumes=PRIVACY_REQUESTS,
        # An erasure waits out the key-cache bound by queueing its request again, delayed.
        sends_to=(PRIVACY_REQUESTS,),
        # An erasure is verified by scanning every table and bucket for the subject's traces.
        tables=scanning_every_table(
            TableAccess(
                PRIVACY_TABLE,
                (
                    "dynamodb:GetItem",  # the request
                    "dynamodb:Query",  # the subject's consents, exported
                    "dynamodb:UpdateItem",  # the request's status, phase and result
                ),
            ),
            TableAccess(
                BILLING_TABLE,
                (
                    "dynamodb:GetItem",  # the customer's state item
                    "dynamodb:Query",  # the customer's items (gsi3) and history
                    "dynamodb:PutItem",  # the MRR record set moved under the pseudonym
                    "dynamodb:UpdateItem",  # invoices, payments, events pseudonymised
                    "dynamodb:DeleteItem",  # the customer, subscriptions, dunning cases
                ),
                indexes=("gsi3", "customer-email"),  # a customer's items; one by email
            ),
            TableAccess(
                AGENTS_TABLE,
                (
                    "dynamodb:Query",  # a run's items, the tenant's long-term memory
                    "dynamodb:DeleteItem",  # the tenant's runs and memory, erased
                ),
            ),
            TableAccess(
                ALERTS_TABLE,
                ("dynamodb:UpdateItem",),  # an email channel's config, re-sealed without them
                indexes=("gsi1",),  # the channels
            ),
            TableAccess(
                REVENUE_TABLE,
                (
                    "dynamodb:GetItem",  # the customer's MRR timeline
                    "dynamodb:PutItem",  # ... moved under the pseudonym
                    "dynamodb:DeleteItem",
                ),
            ),
            TableAccess(USAGE_TABLE, ("dynamodb:UpdateItem",)),  # usage pseudonymised
            # Metrics labelled with the tenant (the billing.mrr gauge), deleted.
            TableAccess(METRICS_TABLE, ("dynamodb:DeleteItem",)),
            *AUDIT_WRITING,  # privacy.export.completed, privacy.erasure.completed
        ),
        buckets=reading_every_bucket(
            BucketAccess(PRIVACY_EXPORTS, ("s3:PutObject", "s3:DeleteObject")),
            BucketAccess(EVENT_BODIES, ("s3:DeleteObject",)),  # a parked event naming them
        ),
        pii="write",  # reads the subject's data to export it; destroys its key to erase it
        pii_lookups=True,  # finds the subject by its blind index; makes its pseudonym
        memory_mb=1024,
        timeout_s=900,
    ),
)
FUNCTIONS += PRIVACY_FUNCTIONS

# The compliance checker (docs/PRIVACY.md, "Compliance checker"): declared after every table,
# bucket and queue, so that it scans and checks them all.
PRIVACY_COMPLIANCE = Function(
    "privacy-compliance",
    handler="privacy.handlers.compliance_job.lambda_handler",
    description="Weekly: plaintext personal data in any store, and every store's settings",
    job="privacy-compliance",
    schedule=Schedule("cron(0 3 ? * MON *)"),  # Mondays, 03:00 UTC
    tables=checking_every_table(
        METRIC_RECORDING,  # privacy.compliance_findings, a gauge
        *AUDIT_WRITING,  # privacy.compliance.checked, with counts only
    ),
    buckets=checking_every_bucket(),
    checks_store_settings=True,
    # Decrypts known subjects' names (billing customers' name_enc) to look for them in
    # plaintext elsewhere; never writes personal data, never reports a plaintext.
    pii="read",
    memory_mb=1024,
    timeout_s=900,
)
FUNCTIONS += (PRIVACY_COMPLIANCE,)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


def jobs() -> dict[str, Function]:
    """Job name -> the function that runs it (scheduled, and on demand via /v1/admin/jobs)."""
    return {f.job: f for f in FUNCTIONS if f.job}


def routes() -> list[tuple[Route, Function]]:
    return [(route, fn) for fn in FUNCTIONS for route in fn.routes]


def email_templates(functions: tuple[Function, ...]) -> tuple[EmailTemplate, ...]:
    """Every template some function sends, once each, in declaration order."""
    return tuple(dict.fromkeys(t for fn in functions for t in fn.emails))
