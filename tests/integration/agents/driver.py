"""Drive agent runs in process under moto: the API handler, then the step handler fed from
the ``agent-steps`` queue by the test, so a test chooses the order and the duplicates.

The model is the real ``openai`` provider talking to ``tests.fakes.openai_server`` on
loopback, which counts calls.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from tests.factories import http_event, sqs_event
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.integration.conftest import Aws, LambdaContext

MODEL = "fake-model"
PRICES = {MODEL: {"input": 1.0, "output": 2.0}}  # USD per million tokens

THREE_TASKS = {
    "tasks": [
        {"id": "t1", "description": "Draft the headline", "depends_on": []},
        {"id": "t2", "description": "List the three pricing tiers", "depends_on": []},
        {"id": "t3", "description": "Write the announcement", "depends_on": ["t1", "t2"]},
    ]
}


def task_output(tool: str, body: dict[str, Any]) -> dict[str, Any]:
    """A task result naming the task the prompt asked for."""
    prompt = body["messages"][-1]["content"]
    task_id = prompt.split("Call submit_task_result with task_id '", 1)[1].split("'", 1)[0]
    return {"task_id": task_id, "output": f"output of {task_id}"}


def scripted(plan: dict[str, Any], confidences: list[float]) -> Script:
    evaluations = iter(confidences)
    last = confidences[-1]

    def answer(tool: str, body: dict[str, Any]) -> dict[str, Any]:
        if tool == "submit_plan":
            return plan
        if tool == "submit_task_result":
            return task_output(tool, body)
        if tool == "submit_evaluation":
            return {"confidence": next(evaluations, last), "feedback": "improve t3"}
        return {"summary": "the notes, summarised"}

    return answer


@dataclass
class AgentDriver:
    aws: Aws
    fake: FakeOpenAI
    context: LambdaContext

    def api(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        from agents.handlers.api import lambda_handler

        headers = {"authorization": f"Bearer {key or self.aws.admin_key}"}
        raw = None
        if body is not None:
            headers["content-type"] = "application/json"
            raw = json.dumps(body)
        response = lambda_handler(http_event(method, path, body=raw, headers=headers), self.context)
        return response["statusCode"], json.loads(response["body"] or "null")

    def start(self, key: str | None = None, **body: Any) -> str:
        status, answer = self.api("POST", "/v1/agents/runs", {"goal": "Launch it", **body}, key)
        assert status == 202, answer
        return str(answer["run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        status, answer = self.api("GET", f"/v1/agents/runs/{run_id}")
        assert status == 200, answer
        return dict(answer)

    def pending(self) -> list[str]:
        return [m["Body"] for m in self.aws.receive("agent-steps")]

    def deliver(self, bodies: list[str]) -> list[str]:
        """One batch of one message each (the topology's batch size); the ids that failed."""
        from agents.handlers.step import lambda_handler

        failed = []
        for body in bodies:
            event = sqs_event([body], self.aws.queue_arns["agent-steps"])
            response = lambda_handler(event, self.context)
            if response.get("batchItemFailures"):
                failed.append(body)
        return failed

    def drain(
        self, *, duplicate: bool = False, rng: random.Random | None = None, rounds: int = 200
    ) -> int:
        """Deliver every queued step until none is left; the number of deliveries."""
        delivered = 0
        backlog: list[str] = []
        for _ in range(rounds):
            backlog += self.pending()
            if not backlog:
                return delivered
            batch = backlog + (backlog if duplicate else [])
            if rng:
                rng.shuffle(batch)
            backlog = []
            for body in batch:
                if self.deliver([body]):
                    backlog.append(body)  # back to the queue, as SQS would
                delivered += 1
        raise AssertionError("the run did not settle")
