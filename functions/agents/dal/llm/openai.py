"""OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, LM Studio, llama.cpp's server):
``${OPENAI_BASE_URL}/chat/completions`` with the tool offered in ``tools`` and forced with
``tool_choice``; usage from the response's ``usage``. The ``openai`` package does the
timeouts and the retries on throttling and 5xx, kept inside the step's time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.dal.llm.deadline_http import SDK_MAX_RETRIES, deadline, failure, http_client
from agents.logic.replies import parse_openai
from agents.models.llm import ModelReply, ModelRequest

if TYPE_CHECKING:
    import openai

# Local servers take any key; the SDK refuses to start without one.
NO_KEY = "unused"


def request_body(request: ModelRequest) -> dict[str, Any]:
    """The chat completion's parameters for ``request``."""
    tool = request.tool
    return {
        "model": request.model,
        "messages": [
            {"role": "system", "content": request.system},
            *({"role": m.role, "content": m.content} for m in request.messages),
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": tool.name}},
        "max_tokens": request.max_tokens,
    }


class OpenAIProvider:
    name = "openai"

    def __init__(self, model: str, base_url: str, api_key: str | None) -> None:
        import openai  # noqa: PLC0415 (only the chosen provider's SDK is imported)

        self.model = model
        self._client: openai.OpenAI = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY,
            max_retries=SDK_MAX_RETRIES,
            http_client=http_client(),
        )

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        import openai  # noqa: PLC0415 (loaded by __init__: a dictionary lookup)

        with deadline(timeout_s) as budget:
            try:
                completion = self._client.chat.completions.create(
                    **request_body(request), timeout=budget
                )
            except openai.APIStatusError as error:
                raise failure(self.name, error.status_code, error.message) from error
            except openai.APIConnectionError as error:  # timeouts included
                raise failure(self.name, None, str(error)) from error
        return parse_openai(request, completion.model_dump(mode="json"))
