"""Drive the alerts functions in process under moto: the API, the evaluate job, and the
dispatch consumer fed from the real (moto) queue, as Lambda's event source mapping would."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.factories import http_event
from tests.integration.conftest import Aws, LambdaContext

QUEUE = "alert-notifications"


@dataclass
class Alerts:
    aws: Aws
    context: LambdaContext
    dispatched: list[dict[str, Any]] = field(default_factory=list)  # handler responses

    def api(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        from alerts.handlers.api import lambda_handler

        headers = {"authorization": f"Bearer {self.aws.admin_key}"}
        if body is not None:
            headers["content-type"] = "application/json"
        event = http_event(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers=headers,
            query=query,
        )
        response = lambda_handler(event, self.context)
        return response["statusCode"], json.loads(response["body"] or "null")

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.api("POST", path, body)
        assert status == 201, answer
        return dict(answer)

    def evaluate(self) -> dict[str, Any]:
        from alerts.handlers.evaluate_job import lambda_handler

        from cognitionos.jobs import schedule_event

        return dict(lambda_handler(schedule_event("alerts-evaluate"), self.context))

    def dispatch_once(self) -> int:
        """One batch of what is visible now; the number of messages handed over."""
        from alerts.handlers.dispatch import lambda_handler

        from infra.local.sqs_poller import EventSource, sqs_record

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = self.aws.queue_urls[QUEUE]
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        source = EventSource(
            QUEUE, url, self.aws.queue_arns[QUEUE], "alerts-dispatch", False, 10, 6
        )
        event = {"Records": [sqs_record(m, source, "us-east-1") for m in messages]}
        response = lambda_handler(event, self.context)
        self.dispatched.append(response)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        for m in done:  # as the event source mapping does with the records that succeeded
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def dispatch_until_idle(self, timeout_s: float = 20.0, idle_s: float = 0.0) -> None:
        """Dispatch until the queue holds nothing, visible or not (retries wait their delay)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.dispatch_once():
                continue
            if self.queue_depth() == 0:
                return
            time.sleep(0.05)  # a retry waits at most its backoff (ALERTS_RETRY_BASE_S)
        raise AssertionError("alert-notifications did not drain")

    def queue_depth(self, dlq: bool = False) -> int:
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = self.aws.queue_urls[f"{QUEUE}-dlq" if dlq else QUEUE]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def alert(self, alert_id: str) -> dict[str, Any]:
        status, body = self.api("GET", f"/v1/alerts/{alert_id}")
        assert status == 200, body
        return dict(body)

    def alerts(self, status: str | None = None) -> list[dict[str, Any]]:
        code, body = self.api("GET", "/v1/alerts", query={"status": status} if status else None)
        assert code == 200, body
        return list(body["alerts"])
