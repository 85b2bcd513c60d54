"""Anthropic's Messages API: the tool offered in ``tools`` and forced with
``tool_choice: {"type": "tool", "name": ...}``. The ``anthropic`` package does the timeouts
and the retries on throttling, overload and 5xx, kept inside the step's time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.dal.llm.deadline_http import SDK_MAX_RETRIES, deadline, failure, http_client
from agents.logic.replies import parse_anthropic
from agents.models.llm import ModelReply, ModelRequest

if TYPE_CHECKING:
    import anthropic


def request_body(request: ModelRequest) -> dict[str, Any]:
    """The Messages API parameters for ``request``."""
    tool = request.tool
    return {
        "model": request.model,
        "system": request.system,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "tools": [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
        ],
        "tool_choice": {"type": "tool", "name": tool.name},
        "max_tokens": request.max_tokens,
    }


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, model: str, api_key: str, base_url: str | None) -> None:
        import anthropic  # noqa: PLC0415 (only the chosen provider's SDK is imported)

        self.model = model
        self._client: anthropic.Anthropic = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=SDK_MAX_RETRIES,
            http_client=http_client(),
        )

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        import anthropic  # noqa: PLC0415 (loaded by __init__: a dictionary lookup)

        with deadline(timeout_s) as budget:
            try:
                message = self._client.messages.create(**request_body(request), timeout=budget)
            except anthropic.APIStatusError as error:
                raise failure(self.name, error.status_code, error.message) from error
            except anthropic.APIConnectionError as error:  # timeouts included
                raise failure(self.name, None, str(error)) from error
        return parse_anthropic(request, message.model_dump(mode="json"))
