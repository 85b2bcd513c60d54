"""Reading the forced tool call and the token usage out of each provider's response.

Pure: the providers call these on a fresh response, and ``reply_from_raw`` on a stored one,
so a replayed step is judged exactly as it was the first time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agents.models.llm import ModelReply, ModelRequest, ToolCallError, validate_arguments

# Why a reply stopped, by provider, when it stopped at the token cap.
_CUT_AT_MAX_TOKENS = {"length", "max_tokens"}


def parse_reply(provider: str, request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    try:
        parse = _PARSERS[provider]
    except KeyError:
        raise ToolCallError(f"no reply parser for provider {provider!r}") from None
    return parse(request, raw)


def parse_openai(request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    """A chat completion: ``choices[0].message.tool_calls[].function`` and ``usage``."""
    name = request.tool.name
    choices = raw.get("choices") or []
    if not choices:
        raise ToolCallError(f"{name}: the reply has no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    calls = [call.get("function") or {} for call in message.get("tool_calls") or []]
    function = _the_forced_call(
        name,
        [str(call.get("name")) for call in calls],
        calls,
        choice.get("finish_reason"),
        message.get("content"),
    )
    arguments = _json_arguments(name, function.get("arguments"), choice.get("finish_reason"))
    usage = raw.get("usage") or {}
    return _reply(
        request, raw, arguments, usage.get("prompt_tokens"), usage.get("completion_tokens")
    )


def parse_anthropic(request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    """A Messages API response: ``content[]`` blocks of type ``tool_use`` and ``usage``."""
    name = request.tool.name
    blocks = [block for block in raw.get("content") or [] if block.get("type") == "tool_use"]
    text = " ".join(b.get("text", "") for b in raw.get("content") or [] if b.get("type") == "text")
    block = _the_forced_call(
        name, [str(b.get("name")) for b in blocks], blocks, raw.get("stop_reason"), text
    )
    usage = raw.get("usage") or {}
    return _reply(
        request, raw, block.get("input"), usage.get("input_tokens"), usage.get("output_tokens")
    )


def parse_bedrock(request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    """A Converse response: ``output.message.content[].toolUse`` and ``usage``. Converse does
    not say which model answered, so the reply names the one asked for."""
    name = request.tool.name
    content = ((raw.get("output") or {}).get("message") or {}).get("content") or []
    uses = [block["toolUse"] for block in content if "toolUse" in block]
    text = " ".join(block.get("text", "") for block in content if "text" in block)
    use = _the_forced_call(
        name, [str(u.get("name")) for u in uses], uses, raw.get("stopReason"), text
    )
    usage = raw.get("usage") or {}
    raw = {**raw, "model": raw.get("model", request.model)}
    return _reply(
        request, raw, use.get("input"), usage.get("inputTokens"), usage.get("outputTokens")
    )


def parse_replay(request: ModelRequest, raw: dict[str, Any]) -> ModelReply:
    """A recorded answer: ``{"tool", "arguments", "usage": {"input_tokens", "output_tokens"},
    "model"}``."""
    name = request.tool.name
    recorded = str(raw.get("tool"))
    _the_forced_call(name, [recorded], [raw], None, None)
    usage = raw.get("usage") or {}
    return _reply(
        request, raw, raw.get("arguments"), usage.get("input_tokens"), usage.get("output_tokens")
    )


_PARSERS: dict[str, Callable[[ModelRequest, dict[str, Any]], ModelReply]] = {
    "openai": parse_openai,
    "anthropic": parse_anthropic,
    "bedrock": parse_bedrock,
    "replay": parse_replay,
}


def _the_forced_call(
    name: str, called: list[str], calls: list[Any], stop: Any, text: Any
) -> dict[str, Any]:
    """The one call of the forced tool among ``calls`` (named ``called``), or why not."""
    matching = [call for tool, call in zip(called, calls, strict=True) if tool == name]
    if len(matching) == 1:
        return dict(matching[0])
    if len(matching) > 1:
        raise ToolCallError(f"{name}: the reply calls the tool {len(matching)} times, not once")
    if called:
        raise ToolCallError(f"{name}: the reply calls {', '.join(called)} instead")
    said = f", it says: {str(text)[:120]!r}" if text else ""
    stopped = f" (stop reason {stop!r})" if stop else ""
    raise ToolCallError(f"{name}: the reply has no tool call{stopped}{said}")


def _json_arguments(name: str, arguments: Any, stop: Any) -> Any:
    """OpenAI-compatible servers send the arguments as a JSON string."""
    if isinstance(arguments, dict):  # a few local servers send an object already
        return arguments
    try:
        return json.loads(arguments or "")
    except (TypeError, ValueError) as bad:
        cut = " (cut at max_tokens)" if stop in _CUT_AT_MAX_TOKENS else ""
        raise ToolCallError(f"{name}: the arguments are not valid JSON{cut}: {bad}") from None


def _reply(
    request: ModelRequest,
    raw: dict[str, Any],
    arguments: Any,
    input_tokens: Any,
    output_tokens: Any,
) -> ModelReply:
    validated = validate_arguments(request.tool, arguments)
    for field, count in (("input", input_tokens), ("output", output_tokens)):
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ToolCallError(
                f"{request.tool.name}: the reply reports no {field} token count "
                f"(got {count!r}): usage is needed to settle the budget"
            )
    return ModelReply(
        arguments=validated,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        model=str(raw.get("model") or request.model),
        raw=raw,
    )
