"""The ONE declaration of CognitionOS's functions, routes, queues, schedules, tables and secrets.

Plain data, no AWS code: the CDK stack (``infra/stack.py``) and the local runner
(``infra/local``) both loop over it, so what runs on a laptop is what deploys. A
permission exists because a line here names the resource; environment variables
are derived from the same lines (``Function.resource_env``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
    """

    name: str
    description: str

    @property
    def env_var(self) -> str:
        return _env_name(self.name, "KEY_ID")


# How a function handles personal data (docs/SECURITY.md): "write" encrypts it (and may
# erase a subject), "read" only decrypts it; both compute blind indexes for lookups.
PersonalData = Literal["none", "read", "write"]


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


@dataclass(frozen=True)
class Function:
    """One Lambda function: python3.12 on arm64 with the dependency and kernel layers."""

    name: str
    handler: str
    description: str
    memory_mb: int = 256
    timeout_s: int = 29
    routes: tuple[Route, ...] = ()
    consumes: Queue | None = None
    sends_to: tuple[Queue, ...] = ()
    reads: tuple[Table, ...] = ()
    writes: tuple[Table, ...] = ()
    secrets: tuple[Secret, ...] = ()
    job: str | None = None
    schedule: Schedule | None = None
    invokes: tuple[str, ...] = field(default=())  # job names this function may run synchronously
    pii: PersonalData = "none"

    @property
    def context(self) -> str:
        """The bounded context: the package under ``functions/`` that holds the handler."""
        return self.handler.split(".", 1)[0]

    @property
    def table_reads(self) -> tuple[Table, ...]:
        """Tables read: the declared ones, plus the subject keys for personal data."""
        extra = (SUBJECT_KEYS_TABLE,) if self.pii != "none" else ()
        return tuple(dict.fromkeys(self.reads + extra))

    @property
    def table_writes(self) -> tuple[Table, ...]:
        """Tables written: the declared ones, plus the subject keys for a ``pii="write"``."""
        extra = (SUBJECT_KEYS_TABLE,) if self.pii == "write" else ()
        return tuple(dict.fromkeys(self.writes + extra))

    @property
    def all_secrets(self) -> tuple[Secret, ...]:
        """Secrets read: the declared ones, plus the blind-index key for personal data."""
        extra = (PII_BLIND_INDEX_KEY,) if self.pii != "none" else ()
        return tuple(dict.fromkeys(self.secrets + extra))

    @property
    def keys(self) -> tuple[Key, ...]:
        """KMS keys the function calls directly: writers wrap and unwrap, readers unwrap."""
        return (PII_KEY,) if self.pii != "none" else ()

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(dict.fromkeys(self.table_reads + self.table_writes))

    def resource_env(self) -> dict[str, Table | Queue | Secret | Key]:
        """Environment variable -> the resource whose name/URL/ARN it carries."""
        env: dict[str, Table | Queue | Secret | Key] = {}
        for table in self.tables:
            env[table.env_var] = table
        for queue in self.sends_to:
            env[queue.env_var] = queue
        for secret in self.all_secrets:
            env[secret.env_var] = secret
        for key in self.keys:
            env[key.env_var] = key
        return env

    def static_env(self) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "LOG_LEVEL": "INFO",
        }


# --- tables -------------------------------------------------------------------------------

BILLING_TABLE = Table(
    "billing",
    indexes=(
        # event log by status (gsi1pk = "EVENTS#<status>") and all events (gsi2pk = "EVENTS"),
        # both sorted by "<created>#<event id>"; gsi3 lists a customer's items.
        Index("gsi1", "gsi1pk", "gsi1sk"),
        Index("gsi2", "gsi2pk", "gsi2sk"),
        Index("gsi3", "gsi3pk", "gsi3sk"),
    ),
    ttl_attribute="expires_at",
)
API_KEYS_TABLE = Table("api-keys", partition_key="key_id", sort_key=None)
# Each subject's data key, wrapped by PII_KEY (cognitionos.crypto.SubjectKeyring).
SUBJECT_KEYS_TABLE = Table("subject-keys", partition_key="subject_id", sort_key=None)
# Usage records (cognitionos.usage): one item per billable fact, keyed by its deterministic id,
# which is also the Stripe meter event identifier. Any context that meters usage writes here.
USAGE_TABLE = Table("usage", partition_key="usage_id", sort_key=None, ttl_attribute="expires_at")
TABLES = (BILLING_TABLE, API_KEYS_TABLE, SUBJECT_KEYS_TABLE, USAGE_TABLE)

# --- keys ---------------------------------------------------------------------------------

PII_KEY = Key("pii", "CognitionOS: wraps the per-subject data keys that encrypt personal data")
KEYS = (PII_KEY,)

# --- queues -------------------------------------------------------------------------------

# Group = Stripe customer, so one customer's events are applied one at a time.
BILLING_EVENTS = Queue("billing-events", fifo=True, max_receives=5, batch_size=10)
# Usage record ids to report to Stripe; order does not matter, duplicates are harmless.
USAGE_REPORTS = Queue("usage-reports", max_receives=5, batch_size=10)
QUEUES = (BILLING_EVENTS, USAGE_REPORTS)

# --- secrets ------------------------------------------------------------------------------

STRIPE_WEBHOOK_SECRET = Secret(
    "stripe-webhook", "Stripe webhook signing secret (whsec_...); set it after deploying"
)
STRIPE_API_KEY = Secret(
    "stripe-api-key", "Stripe restricted API key (rk_... or sk_...) for reconciliation; optional"
)
API_KEY_PEPPER = Secret(
    "api-key-pepper", "HMAC pepper for API key hashes; rotating it revokes every key", True
)
PII_BLIND_INDEX_KEY = Secret(
    "pii-blind-index-key",
    "HMAC key for blind indexes of personal data (lookups without plaintext)",
    True,
    rotation_note="a new key orphans every stored blind index until they are all recomputed.",
)
SECRETS = (STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY, API_KEY_PEPPER, PII_BLIND_INDEX_KEY)

# Every /v1 function checks API keys itself (kernel auth): it reads the key table and pepper.
API_KEY_AUTH_TABLES = (API_KEYS_TABLE,)
API_KEY_AUTH_SECRETS = (API_KEY_PEPPER,)

# --- functions ----------------------------------------------------------------------------

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "billing-ingest",
        handler="billing.handlers.ingest_webhook.lambda_handler",
        description="Verifies Stripe webhooks, logs each event once and queues it",
        routes=(Route("POST", "/webhooks/stripe", auth="stripe_signature"),),
        writes=(BILLING_TABLE,),  # one conditional put; the old item comes back on conflict
        sends_to=(BILLING_EVENTS,),
        secrets=(STRIPE_WEBHOOK_SECRET,),
        timeout_s=10,
    ),
    Function(
        "billing-process",
        handler="billing.handlers.process_events.lambda_handler",
        description="Applies queued Stripe events to billing state, once each",
        consumes=BILLING_EVENTS,
        reads=(BILLING_TABLE,),
        writes=(BILLING_TABLE,),
        secrets=(STRIPE_API_KEY,),  # optional: re-fetch an object to break a tie
        timeout_s=30,
        pii="write",  # customers' email and name, from Stripe customer events
    ),
    Function(
        "billing-api",
        handler="billing.handlers.api.lambda_handler",
        description="Billing read API: the event log",
        routes=(
            Route("GET", "/v1/billing/events"),
            Route("GET", "/v1/billing/events/{event_id}"),
        ),
        reads=(BILLING_TABLE, *API_KEY_AUTH_TABLES),
        secrets=API_KEY_AUTH_SECRETS,
        pii="read",  # shows customers' email and name
    ),
    Function(
        "billing-reconcile",
        handler="billing.handlers.reconcile.lambda_handler",
        description="Catches up on Stripe events whose delivery failed",
        job="billing-reconcile",
        schedule=Schedule("rate(1 hour)"),
        reads=(BILLING_TABLE,),
        writes=(BILLING_TABLE,),
        sends_to=(BILLING_EVENTS,),
        secrets=(STRIPE_API_KEY,),
        timeout_s=300,
    ),
    Function(
        "billing-usage-report",
        handler="billing.handlers.report_usage.lambda_handler",
        description="Reports recorded usage to Stripe Billing Meter events, once each",
        consumes=USAGE_REPORTS,
        reads=(USAGE_TABLE,),
        writes=(USAGE_TABLE,),  # marks a record reported, conditionally
        secrets=(STRIPE_API_KEY,),
        timeout_s=30,
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
        reads=(API_KEYS_TABLE,),
        writes=(API_KEYS_TABLE,),
        secrets=(API_KEY_PEPPER,),
        invokes=("billing-reconcile",),
        timeout_s=29,
    ),
)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


def jobs() -> dict[str, Function]:
    """Job name -> the function that runs it (scheduled, and on demand via /v1/admin/jobs)."""
    return {f.job: f for f in FUNCTIONS if f.job}


def routes() -> list[tuple[Route, Function]]:
    return [(route, fn) for fn in FUNCTIONS for route in fn.routes]
