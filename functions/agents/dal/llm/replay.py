"""Answers from a recorded JSON file (``COGNITION_LLM_REPLAY_FILE``), so a run can be shown
and tested with no model at all; the file is read once per execution environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from agents.logic.recordings import choose_answer
from agents.logic.replies import parse_replay
from agents.models.llm import ModelReply, ModelRequest, ProviderConfigError
from agents.models.recording import Recording


def load_recording(path: Path) -> Recording:
    try:
        return Recording.model_validate_json(path.read_bytes())
    except OSError as error:
        raise ProviderConfigError(f"COGNITION_LLM_REPLAY_FILE {path}: {error.strerror}") from None
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in invalid.errors()
        )
        raise ProviderConfigError(f"COGNITION_LLM_REPLAY_FILE {path}: {problems}") from None


class ReplayProvider:
    name = "replay"

    def __init__(self, recording: Recording, model: str | None = None) -> None:
        self._recording = recording
        self.model = model or recording.model

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        answer = choose_answer(self._recording, request)
        raw = {
            "tool": answer.tool,
            "match": answer.match,
            "arguments": answer.arguments,
            "usage": answer.usage.model_dump(),
            "model": self.model,
        }
        return parse_replay(request, raw)
