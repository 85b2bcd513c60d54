"""The billing processor under moto: events per second through one invocation with an SQS
batch of 10 (against plain PutItem calls timed in the same run), and AWS calls per event on
the common path. Reported, never asserted on time."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from typing import Any

import pytest

from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.factories import customer, invoice, sqs_event, stripe_event, subscription
from tests.integration.conftest import Aws, LambdaContext, aws, context  # noqa: F401

BATCH = 10
ROUNDS = 15
CUSTOMERS = 20
COMMON_PATH = (
    "customer.subscription.updated",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "customer.updated",
)
T0 = 1_740_000_000


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    """One INFO line per event would bury the figures."""
    from cognitionos.observability import logger

    level = logger.log_level
    logger.setLevel("WARNING")
    yield
    logger.setLevel(level)


def _common_path(customer_id: str, at: int) -> list[dict[str, Any]]:
    """A month of one paying customer: the renewal rolls the period, its invoice is created,
    finalized and paid, and the customer's details change."""
    sub_id, invoice_id = f"sub_{customer_id[4:]}", f"in_{customer_id[4:]}"
    renewed = subscription(sub_id=sub_id, customer=customer_id, period_end=at + 30 * 86400)
    draft = invoice(invoice_id=invoice_id, customer=customer_id, status="draft", sub_id=sub_id)
    draft |= {"amount_paid": 0, "amount_remaining": 2000, "attempt_count": 0}
    opened = {**draft, "status": "open"}
    paid = invoice(invoice_id=invoice_id, customer=customer_id, status="paid", sub_id=sub_id)
    moved = customer(customer_id, f"billing+{customer_id}@example.com")
    objects = (renewed, draft, opened, paid, moved)
    return [
        stripe_event(event_type, obj, created=at + n * 3600)
        for n, (event_type, obj) in enumerate(zip(COMMON_PATH, objects, strict=True))
    ]


def _set_up(customer_id: str) -> list[dict[str, Any]]:
    return [
        stripe_event("customer.created", customer(customer_id), created=T0),
        stripe_event(
            "customer.subscription.created",
            subscription(sub_id=f"sub_{customer_id[4:]}", customer=customer_id, period_end=T0),
            created=T0 + 60,
        ),
    ]


def _log(events: list[dict[str, Any]]) -> list[str]:
    """Log the events as ingest does (so the processor may mark them); their queue bodies."""
    from billing.dal.event_log import EventLog
    from billing.logic.envelope import envelope_from
    from billing.settings import process_settings
    from cognitionos.aws import dynamodb_table

    log = EventLog(dynamodb_table(process_settings().billing_table))
    for event in events:
        log.record_once(envelope_from(event), received_at=int(time.time()))
    return [json.dumps(e) for e in events]


def _invoke(aws: Aws, context: LambdaContext, bodies: list[str]) -> dict[str, Any]:  # noqa: F811
    from billing.handlers.process_events import lambda_handler

    batch = sqs_event(
        bodies,
        aws.queue_arns["billing-events"],
        group_of=lambda e: e["data"]["object"].get("customer") or e["data"]["object"]["id"],
    )
    result: dict[str, Any] = lambda_handler(batch, context)
    assert result == {"batchItemFailures": []}
    return result


def _statuses(aws: Aws, bodies: list[str]) -> Counter[str]:  # noqa: F811
    table = aws.table("billing")
    return Counter(
        table.get_item(Key={"pk": f"EVENT#{json.loads(b)['id']}", "sk": "EVENT"})["Item"]["status"]
        for b in bodies
    )


def _empty(table: Any) -> None:
    """moto copies the whole table for every item of a transaction, so its cost grows with
    the table; emptied between rounds, the rounds measure the processor, not that copy."""
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="pk, sk")["Items"]:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def test_events_per_second_through_one_processor_invocation_of_ten(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
) -> None:
    table = aws.table("billing")
    _invoke(aws, context, _log(_set_up("cus_warm")))  # the cold start is not measured
    processor_s, baseline_s = [], []
    for n in range(ROUNDS):
        _empty(table)
        # Two customers' months: five types, each customer's events in order, as FIFO sends.
        pair = [f"cus_r{n}a", f"cus_r{n}b"]
        _invoke(aws, context, _log([e for c in pair for e in _set_up(c)]))
        bodies = _log([e for c in pair for e in _common_path(c, T0 + 86400)])
        assert len(bodies) == BATCH
        started = time.perf_counter()
        _invoke(aws, context, bodies)
        processor_s.append(time.perf_counter() - started)
        assert _statuses(aws, bodies) == {"processed": BATCH}

        started = time.perf_counter()
        for k in range(BATCH):  # the baseline: as many plain writes of a state-sized item
            table.put_item(Item={"pk": f"BENCH#{n}#{k}", "sk": "STATE", "body": bodies[k]})
        baseline_s.append(time.perf_counter() - started)

    processor, baseline = statistics.median(processor_s), statistics.median(baseline_s)
    report(
        "processor_throughput",
        {
            "rounds (median of)": ROUNDS,
            "events per invocation": BATCH,
            "events per second (one invocation)": round(BATCH / processor, 1),
            "ms per invocation (median)": round(processor * 1000, 1),
            "ms per invocation (min | max)": (
                round(min(processor_s) * 1000, 1),
                round(max(processor_s) * 1000, 1),
            ),
            "baseline: PutItem per second": round(BATCH / baseline, 1),
            "invocation / 10 PutItem (ratio)": round(processor / baseline, 2),
            "table items per round (emptied between rounds)": table.scan(Select="COUNT")["Count"],
        },
    )


def test_aws_calls_per_event_on_the_common_path(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
) -> None:
    _invoke(aws, context, _log(_set_up("cus_warm")))  # settings, clients, secret: amortised
    by_type: dict[str, Counter[str]] = {t: Counter() for t in COMMON_PATH}
    for n in range(CUSTOMERS):
        customer_id = f"cus_c{n}"
        _invoke(aws, context, _log(_set_up(customer_id)))
        for event in _common_path(customer_id, T0 + 86400):
            bodies = _log([event])
            with count_aws_calls() as calls:
                _invoke(aws, context, bodies)
            by_type[event["type"]] += calls
            assert _statuses(aws, bodies) == {"processed": 1}

    per_type = {t: round(sum(c.values()) / CUSTOMERS, 2) for t, c in by_type.items()}
    mean = round(statistics.mean(per_type.values()), 2)
    report(
        "processor_aws_calls",
        {
            "customers": CUSTOMERS,
            **{f"calls per {t}": v for t, v in per_type.items()},
            **{
                f"{t}, by operation": {op: n / CUSTOMERS for op, n in sorted(c.items())}
                for t, c in by_type.items()
            },
            "mean calls per event (the mix)": mean,
            "target": "<= 4",
        },
    )


def _discounted(customer_id: str, at: int) -> list[dict[str, Any]]:
    """A customer whose subscription carries a discount naming its coupon by id (API
    versions from 2025-09-30.clover on), then a renewal of that subscription."""
    sub_id = f"sub_{customer_id[4:]}"
    discount = {
        "id": f"di_{customer_id[4:]}",
        "object": "discount",
        "customer": customer_id,
        "subscription": sub_id,
        "start": at,
        "end": None,
        "source": {"type": "coupon", "coupon": "co_bench"},
    }
    sub = subscription(sub_id=sub_id, customer=customer_id) | {"discounts": [discount["id"]]}
    renewed = {**sub, "items": subscription(sub_id=sub_id, period_end=at + 30 * 86400)["items"]}
    return [
        stripe_event("customer.subscription.created", sub, created=at),
        stripe_event("customer.discount.created", discount, created=at),
        stripe_event("customer.subscription.updated", renewed, created=at + 3600),
    ]


def test_aws_calls_per_event_of_a_customer_with_a_coupon_by_id(
    aws: Aws,  # noqa: F811
    context: LambdaContext,  # noqa: F811
) -> None:
    coupon = {"id": "co_bench", "object": "coupon", "percent_off": 20, "duration": "forever"}
    _invoke(aws, context, _log([stripe_event("coupon.created", coupon, created=T0)]))
    labels = ("subscription created", "discount created (coupon by id)", "subscription renewed")
    by_step: dict[str, Counter[str]] = {label: Counter() for label in labels}
    for n in range(CUSTOMERS):
        for label, event in zip(labels, _discounted(f"cus_d{n}", T0 + 86400), strict=True):
            bodies = _log([event])
            with count_aws_calls() as calls:
                _invoke(aws, context, bodies)
            by_step[label] += calls
    report(
        "processor_aws_calls_coupon_by_id",
        {
            "customers": CUSTOMERS,
            **{
                f"calls per {label}": round(sum(c.values()) / CUSTOMERS, 2)
                for label, c in by_step.items()
            },
            **{
                f"{label}, by operation": {op: n / CUSTOMERS for op, n in sorted(c.items())}
                for label, c in by_step.items()
            },
        },
    )
