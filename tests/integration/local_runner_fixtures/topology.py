"""A tiny topology for the local runner's tests: the same dataclasses as infra/topology.py.

It declares what the runner needs from any topology (the API-key table and pepper, Stripe's
secrets) plus one function per behaviour under test.
"""

from __future__ import annotations

from infra.topology import (
    Bucket,
    Function,
    Index,
    Key,
    Queue,
    Route,
    Schedule,
    Secret,
    Table,
    TableAccess,
)

HANDLERS = "tests.integration.local_runner_fixtures.handlers"

OBSERVATIONS = Table(
    "observations", indexes=(Index("gsi1", "gsi1pk", "gsi1sk"),), ttl_attribute="expires_at"
)
API_KEYS_TABLE = Table("api-keys", partition_key="key_id", sort_key=None)
TABLES = (OBSERVATIONS, API_KEYS_TABLE)
READ_OBSERVATIONS = TableAccess(OBSERVATIONS, ("dynamodb:GetItem",))
WRITE_OBSERVATIONS = TableAccess(OBSERVATIONS, ("dynamodb:PutItem",))

WORK = Queue("work", max_receives=3, batch_size=10, visibility_timeout_s=30)
ORDERED = Queue("ordered", fifo=True, max_receives=3, batch_size=10, visibility_timeout_s=30)
QUEUES = (WORK, ORDERED)
ALARM_TOPIC_SUBSCRIBERS: tuple[Queue, ...] = ()

STRIPE_WEBHOOK_SECRET = Secret("stripe-webhook", "Stripe webhook signing secret")
STRIPE_API_KEY = Secret("stripe-api-key", "Stripe API key")
API_KEY_PEPPER = Secret("api-key-pepper", "HMAC pepper for API key hashes", True)
SECRETS = (STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY, API_KEY_PEPPER)
KEYS: tuple[Key, ...] = ()
BUCKETS: tuple[Bucket, ...] = ()

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "echo",
        handler=f"{HANDLERS}.echo",
        description="Answers with the event, its context and its environment",
        routes=(
            Route("GET", "/echo/{item_id}"),
            Route("POST", "/echo/{item_id}"),
            Route("GET", "/echo/special"),
            Route("GET", "/echo/{item_id}/files/{name}"),
        ),
        tables=(READ_OBSERVATIONS,),
        sends_to=(WORK,),
        secrets=(STRIPE_WEBHOOK_SECRET,),
        memory_mb=512,
    ),
    Function(
        "respond",
        handler=f"{HANDLERS}.respond",
        description="Answers what the request body says to answer; raises or sleeps on request",
        routes=(Route("POST", "/respond"),),
        timeout_s=2,
    ),
    Function(
        "invoker",
        handler=f"{HANDLERS}.invoker",
        description="Runs a job synchronously through the Lambda Invoke API",
        routes=(Route("POST", "/jobs/{job}"),),
        invokes=("tick",),
    ),
    Function(
        "tick",
        handler=f"{HANDLERS}.tick",
        description="A scheduled job: records each run",
        job="tick",
        schedule=Schedule("cron(* * * * ? *)"),
        tables=(WRITE_OBSERVATIONS,),
    ),
    Function(
        "consumer",
        handler=f"{HANDLERS}.consume",
        description="Consumes the standard queue; fails records on request",
        consumes=WORK,
        tables=(WRITE_OBSERVATIONS,),
        timeout_s=5,
    ),
    Function(
        "ordered-consumer",
        handler=f"{HANDLERS}.consume_ordered",
        description="Consumes the FIFO queue; fails records on request, holding the group back",
        consumes=ORDERED,
        tables=(WRITE_OBSERVATIONS,),
        timeout_s=5,
    ),
)


def jobs() -> dict[str, Function]:
    return {f.job: f for f in FUNCTIONS if f.job}


def routes() -> list[tuple[Route, Function]]:
    return [(route, fn) for fn in FUNCTIONS for route in fn.routes]
