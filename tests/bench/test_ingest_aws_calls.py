"""AWS calls per Stripe event on the ingest path, under moto (the secret fetch amortised)."""

from __future__ import annotations

import json

from tests.aws_calls import count_aws_calls
from tests.bench.conftest import report
from tests.factories import invoice, sign, stripe_event
from tests.integration.conftest import WEBHOOK_SECRET, Aws, LambdaContext, aws, context  # noqa: F401
from tests.integration.test_stripe_webhook import post_webhook

EVENTS = 200


def test_aws_calls_per_event(aws: Aws, context: LambdaContext) -> None:  # noqa: F811
    bodies = [
        json.dumps(stripe_event("invoice.paid", invoice(invoice_id=f"in_{n}", customer=f"cus_{n}")))
        for n in range(EVENTS)
    ]
    with count_aws_calls() as accepted:
        for body in bodies:
            post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    table = aws.table("billing")
    for body in bodies:  # as if the processor had applied them
        table.update_item(
            Key={"pk": f"EVENT#{json.loads(body)['id']}", "sk": "EVENT"},
            UpdateExpression="SET #s = :p",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": "processed"},
        )
    with count_aws_calls() as duplicates:
        for body in bodies:
            post_webhook(body, sign(body, WEBHOOK_SECRET), context)
    report(
        "ingest_aws_calls",
        {
            "events": EVENTS,
            "calls per accepted event": round(sum(accepted.values()) / EVENTS, 3),
            "accepted, by operation": dict(accepted),
            "calls per duplicate of a processed event": round(sum(duplicates.values()) / EVENTS, 3),
            "duplicates, by operation": dict(duplicates),
            "target": "<= 2 accepted, 1 duplicate",
        },
    )
