"""Consumer of the ``agent-steps`` queue: each message executes one step of one run.

Wiring only: ``logic/steps.py`` holds the order of claim, call, store, apply and send that
makes a redelivered or duplicated message change nothing.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from agents.dal.llm import provider_from_env
from agents.dal.memory import MemoryStore
from agents.dal.runs import RunStore
from agents.logic.code_blocks import refused
from agents.logic.pricing import price_of
from agents.logic.run_state import Followup, Run, Usage
from agents.logic.steps import StepConfig, StepRunner
from agents.models.llm import ModelReply, ModelRequest, reply_from_raw
from agents.models.steps import StepMessage
from agents.settings import step_settings
from cognitionos import deadline, metrics_store
from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.code_validation import validate_code
from cognitionos.crypto import subject_keyring
from cognitionos.errors import Unprocessable
from cognitionos.observability import MetricUnit, logger, metrics, traced
from cognitionos.queues import send_message
from cognitionos.usage import record_usage

# Longer than the function's timeout (topology: 90 s), so a live claim is never taken over.
LEASE_S = 150.0

# Business metrics for alert rules (cognitionos.metrics_store), each emitted once: a call's
# cost after the transaction that settles it, a failure after the transition that ends it.
COST_USD = "agents.cost_usd"
RUNS_FAILED = "agents.runs_failed"

processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]


class _Model:
    """The provider, and replays of its stored replies."""

    def __init__(self) -> None:
        self._provider = provider_from_env()
        self.name = self._provider.name

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        metrics.add_metric("ModelCalls", MetricUnit.Count, 1)
        return self._provider.call(request, timeout_s=timeout_s)

    def replay(self, request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
        return reply_from_raw(self.name, request, raw)


@functools.cache
def step_runner() -> StepRunner:
    settings = step_settings()
    table = dynamodb_table(settings.agents_table)
    keyring = subject_keyring()
    model = _Model()
    memory = MemoryStore(table, keyring, time.time)
    model_name = provider_from_env().model

    def send(run_id: str, followups: list[Followup]) -> None:
        for followup in followups:
            body = StepMessage.of(run_id, followup).model_dump_json(exclude_none=True)
            send_message(settings.agent_steps_queue_url, body)

    def meter(run: Run, key: str, tokens: int) -> None:
        if run.tenant_id:  # an operator's run is nobody's bill
            record_usage(
                run.tenant_id, settings.cognition_agents_meter, tokens, f"{run.run_id}:{key}"
            )

    def on_finish(run: Run) -> None:
        metrics.add_metric(f"Runs_{run.status}", MetricUnit.Count, 1)
        if run.status == "failed":
            metrics_store.increment(RUNS_FAILED)  # what the alert rules read
        if run.status in ("succeeded", "needs_review"):
            memory.remember_run(run)

    def on_spent(run: Run, spent: Usage) -> None:
        metrics_store.increment(COST_USD, float(spent.cost_usd))

    def validate(files: dict[str, str]) -> dict[str, Any]:
        try:
            return validate_code(files)
        except Unprocessable as refusal:  # e.g. a block over 100,000 bytes: nothing ran
            return refused(str(refusal))

    return StepRunner(
        store=RunStore(table, keyring, time.time, audit_log()),  # agent.run.finished
        memory=memory,
        model=model,
        price=lambda name: price_of(name, model.name),
        send=send,
        record_usage=meter,
        on_finish=on_finish,
        on_spent=on_spent,
        config=StepConfig(
            model=model_name,
            context_tokens=settings.cognition_llm_context_tokens,
            reply_tokens=settings.cognition_llm_max_tokens,
            lease_s=LEASE_S,
        ),
        clock=time.time,
        remaining_s=deadline.remaining_s,
        validate_code=validate,
    )


def execute_record(record: SQSRecord) -> None:
    message = StepMessage.model_validate_json(record.body)
    outcome = step_runner().execute(message.run_id, message.followup)
    logger.info(
        "agent step",
        extra={"run_id": message.run_id, "step": message.followup.key, "outcome": outcome},
    )
    metrics.add_metric(f"Step_{outcome}", MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step_settings()
    with deadline.of_invocation(context):
        response = process_partial_response(
            event=event, record_handler=execute_record, processor=processor, context=context
        )
    return dict(response)
