"""What a run's audit entries say: who, on what, and plain facts only (no goal, no prompt, no
model output: those are the tenant's words, sealed in the agents table)."""

from __future__ import annotations

from typing import Any

from agents.logic.run_state import Run

STARTED = "agent.run.started"
CANCELLED = "agent.run.cancelled"
FINISHED = "agent.run.finished"
STEP_ACTOR = "agents-step"  # a run ended by its own step (succeeded, failed, budget)


def resource_of(run: Run) -> str:
    return f"agent_run:{run.run_id}"


def started_details(run: Run) -> dict[str, Any]:
    budget = run.budget
    limits = {
        "max_tokens": budget.max_tokens,
        "max_cost_usd": str(budget.max_cost_usd) if budget.max_cost_usd is not None else None,
        "max_seconds": budget.max_seconds,
    }
    return {
        "strategy": run.strategy,
        "max_iterations": run.max_iterations,
        "validate_code": run.validate_code,
        "budget": {name: value for name, value in limits.items() if value is not None},
    }


def ended_details(run: Run) -> dict[str, Any]:
    """The run as it ended: its status, the steps applied, the evaluations, tokens and cost
    (a decimal string: the audit log hashes no float)."""
    return {
        "status": run.status,
        "steps": run.steps,
        "iterations": run.iterations,
        "tasks": len(run.tasks),
        "input_tokens": run.usage.input_tokens,
        "output_tokens": run.usage.output_tokens,
        "cost_usd": str(run.usage.cost_usd),
    }


def ended_action(status: str) -> str:
    return CANCELLED if status == "cancelled" else FINISHED
