"""What the audit log costs: AWS calls and time per processed Stripe event (the processor with
and without its audit entries, in the same run), and the hash of one entry."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from cognitionos.audit.chain import GENESIS, canonical
from tests.audit_chains import draft
from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.factories import stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext, aws, context  # noqa: F401
from tests.integration.test_process_events import ingest, process

CUSTOMERS = 40
EVENTS_PER_CUSTOMER = 3
HASHED_ENTRIES = 20_000


def events_for(prefix: str) -> list[dict[str, Any]]:
    return [
        stripe_event(
            "customer.subscription.updated",
            subscription(sub_id=f"sub_{prefix}{c}", customer=f"cus_{prefix}{c}", quantity=n + 1),
            created=1_700_000_000 + n,
        )
        for c in range(CUSTOMERS)
        for n in range(EVENTS_PER_CUSTOMER)
    ]


def processed(on: Aws, ctx: LambdaContext, prefix: str) -> tuple[float, int, dict[str, int]]:
    bodies = [body for event in events_for(prefix) for body in ingest(on, ctx, event)]
    started = time.perf_counter()
    with count_aws_calls() as calls:
        for body in bodies:
            process(on, ctx, [body])
    seconds = time.perf_counter() - started
    return seconds, len(bodies), dict(calls)


def test_audit_cost_per_processed_event(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import billing.handlers.process_events as handler

    audited = handler.audit_log
    monkeypatch.setattr(handler, "audit_log", lambda: None)
    base_s, base_n, base_calls = processed(aws, context, "B")
    monkeypatch.setattr(handler, "audit_log", audited)
    audit_s, audit_n, audit_calls = processed(aws, context, "A")
    per = lambda calls, n: round(sum(calls.values()) / n, 3)  # noqa: E731
    report(
        "audit_cost_per_processed_event",
        {
            "events": audit_n,
            "customers (one chain each)": CUSTOMERS,
            "calls per event, no audit": per(base_calls, base_n),
            "calls per event, audited": per(audit_calls, audit_n),
            "extra calls per event": round(per(audit_calls, audit_n) - per(base_calls, base_n), 3),
            "extra calls, by operation": {
                k: v - base_calls.get(k, 0)
                for k, v in audit_calls.items()
                if v != base_calls.get(k, 0)
            },
            "ms per event, no audit (moto, in process)": round(1000 * base_s / base_n, 2),
            "ms per event, audited": round(1000 * audit_s / audit_n, 2),
            "time ratio audited / no audit": round(audit_s / base_s, 3),
            "target": "at most 1 extra call per event (the chain head, once per tenant "
            "per execution environment); the entries ride in the event's transaction",
        },
    )


def test_hash_cost_per_entry() -> None:
    drafts = [draft(n) for n in range(1, 1001)]
    bodies = [canonical(d.at(1, GENESIS)) for d in drafts]
    started = time.perf_counter()
    for n in range(HASHED_ENTRIES):
        hashlib.sha256(bodies[n % 1000]).hexdigest()
    baseline_s = time.perf_counter() - started
    started = time.perf_counter()
    prev = GENESIS
    for n in range(HASHED_ENTRIES):
        prev = drafts[n % 1000].at(n + 1, prev)["hash"]
    entry_s = time.perf_counter() - started
    report(
        "audit_hash_cost_per_entry",
        {
            "entries": HASHED_ENTRIES,
            "entry bytes (canonical, typical)": sum(map(len, bodies)) // len(bodies),
            "µs per entry (canonical JSON + SHA-256)": round(1e6 * entry_s / HASHED_ENTRIES, 2),
            "µs per bare SHA-256 of the same bytes (baseline)": round(
                1e6 * baseline_s / HASHED_ENTRIES, 2
            ),
            "ratio entry / bare hash": round(entry_s / baseline_s, 1),
        },
    )
