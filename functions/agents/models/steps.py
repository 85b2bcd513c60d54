"""The ``agent-steps`` queue message: which step of which run to execute."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.logic.run_state import Followup, RunStatus, StepKind


class StepMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(pattern=r"^run_[a-z0-9]{20,40}$")
    step: StepKind
    iteration: int = Field(0, ge=0, le=5)
    task_id: str | None = Field(None, max_length=64)
    outcome: RunStatus | None = None

    @classmethod
    def of(cls, run_id: str, followup: Followup) -> StepMessage:
        return cls(
            run_id=run_id,
            step=followup.step,
            iteration=followup.iteration,
            task_id=followup.task_id,
            outcome=followup.outcome,
        )

    @property
    def followup(self) -> Followup:
        return Followup(self.step, self.iteration, self.task_id, self.outcome)
