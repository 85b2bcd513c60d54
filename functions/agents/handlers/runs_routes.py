"""/v1/agents/runs: start a run, read it, cancel it."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agents.dal.runs import RUN_RETENTION_S, RunStore
from agents.logic.run_state import Budget, Followup, Run
from agents.models.runs import CancelAccepted, CreateRunBody, RunCreated, RunView
from agents.models.steps import StepMessage
from agents.settings import api_settings
from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.errors import NotFound
from cognitionos.http import (
    FORBIDDEN,
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)
from cognitionos.queues import send_message

router = APIGatewayHttpRouter()
RunId = Annotated[
    str,
    Path(
        pattern=r"^run_[a-z0-9]{20,40}$",
        description="The run's id, as `POST /v1/agents/runs` returned it",
        openapi_examples={"a run": {"value": "run_0f8fad5bd9cb469fa16570867728950e"}},
    ),
]
NOT_FOUND = "No run has this id, or it is another tenant's"


def run_store() -> RunStore:
    return RunStore(
        dynamodb_table(api_settings().agents_table), subject_keyring(), time.time, audit_log()
    )


def visible_run(store: RunStore, run_id: str) -> Run:
    run = store.get(run_id)
    if run is None or not current_principal(router).can_see_tenant(run.tenant_id):
        raise NotFound(f"no run {run_id}")  # another tenant's: existence would leak
    return run


@router.post(
    "/v1/agents/runs",
    middlewares=[require_scope("agents:run")],
    tags=["agents"],
    summary="Start an agent run",
    description=(
        "Queues a run: the agent plans the goal into tasks, runs them (one queue step "
        "each), evaluates the outputs and refines them until its confidence reaches the "
        "threshold or `max_iterations` evaluations are done, never passing the budget. "
        "A tenant-bound key's run is the tenant's: its tokens are metered to Stripe. "
        "Needs `agents:run`."
    ),
    status_code=202,
    responses=documented_responses(
        "The run is queued",
        {
            400: "The body is not JSON, or not UTF-8",
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            415: "The body was not sent as `Content-Type: application/json`",
            422: INVALID + " (an empty goal, max_iterations above 5, ...)",
        },
        status=202,
    ),
)
def start_run(body: CreateRunBody) -> RunCreated:
    principal = current_principal(router)
    now = time.time()
    run = Run(
        run_id=f"run_{uuid.uuid4().hex}",
        tenant_id=principal.tenant_id,
        goal=body.goal,
        strategy=body.strategy,
        max_iterations=body.max_iterations,
        confidence_threshold=body.confidence_threshold,
        budget=Budget(
            body.budget.max_tokens,
            # exact from here on: what the run stores, reserves and compares
            Decimal(str(body.budget.max_cost_usd)) if body.budget.max_cost_usd else None,
            body.budget.max_seconds,
        ),
        created_at=now,
        validate_code=body.validate_code,
    )
    store = run_store()
    store.create(run, expires_at=int(now) + RUN_RETENTION_S, actor=principal.key_id)
    try:
        send_message(
            api_settings().agent_steps_queue_url,
            StepMessage.of(run.run_id, Followup("plan")).model_dump_json(exclude_none=True),
        )
    except Exception:
        # Nothing left half-made: the run ends failed (and audited so) rather than hang queued.
        store.end(run, "failed", "the run could not be queued", actor=principal.key_id)
        raise
    return RunCreated(run_id=run.run_id, status="queued")


@router.get(
    "/v1/agents/runs/<run_id>",
    middlewares=[require_scope("agents:run")],
    tags=["agents"],
    summary="Read an agent run",
    description=(
        "The run's status, plan with each task's status and output, evaluations, usage "
        "(tokens, cost, elapsed time) and result. Needs `agents:run`; a tenant-bound key "
        "sees only its tenant's runs."
    ),
    responses=documented_responses(
        "The run", {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 422: INVALID}
    ),
)
def read_run(run_id: RunId) -> RunView:
    store = run_store()
    run = visible_run(store, run_id)
    return RunView.of(run, store.outputs(run) if run.tasks else {}, time.time())


@router.post(
    "/v1/agents/runs/<run_id>/cancel",
    middlewares=[require_scope("agents:run")],
    tags=["agents"],
    summary="Cancel an agent run",
    description=(
        "Stops the run before its next model call: no call starts after this answer (one "
        "already in flight may finish, and its usage is counted). A run that has ended "
        "keeps its status. Needs `agents:run`."
    ),
    status_code=202,
    responses=documented_responses(
        "Cancellation accepted",
        {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 422: INVALID},
        status=202,
    ),
)
def cancel_run(run_id: RunId) -> CancelAccepted:
    store = run_store()
    run = visible_run(store, run_id)
    if not run.terminal:
        store.end(run, "cancelled", "cancelled by request", actor=current_principal(router).key_id)
        run = store.get(run_id) or run
    return CancelAccepted(run_id=run_id, status=run.status)
