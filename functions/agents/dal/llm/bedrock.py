"""Bedrock's Converse API through boto3: the tool in ``toolConfig`` and forced with
``toolChoice: {"tool": {"name": ...}}``; usage from the response's ``usage``.

botocore's standard retry mode retries throttling and 5xx; each attempt's read timeout is
chosen so that all three attempts, their connects and backoff fit in the step's time. The
kernel caches one client per read timeout, so timeouts are rounded down to a power of two
(a handful of clients per execution environment at most).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agents.logic.replies import parse_bedrock
from agents.models.llm import (
    ModelReply,
    ModelRequest,
    ModelRequestRejected,
    ModelUnavailable,
    ProviderConfigError,
)
from cognitionos import aws

ATTEMPTS = 3  # the kernel client's standard retry mode
CONNECT_S = 3  # the kernel client's connect timeout
BACKOFF_S = 3  # botocore's standard backoff before attempts 2 and 3, at most 1 s + 2 s
MIN_READ_S = 8  # below this per attempt, one attempt gets the whole time instead
UNAVAILABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
    }
)
MISCONFIGURED = frozenset({"AccessDeniedException", "ResourceNotFoundException"})


def request_body(request: ModelRequest) -> dict[str, Any]:
    """The Converse parameters for ``request``."""
    tool = request.tool
    return {
        "modelId": request.model,
        "system": [{"text": request.system}],
        "messages": [{"role": m.role, "content": [{"text": m.content}]} for m in request.messages],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": tool.name,
                        "description": tool.description,
                        "inputSchema": {"json": tool.parameters},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": tool.name}},
        },
        "inferenceConfig": {"maxTokens": request.max_tokens},
    }


def read_timeout_s(timeout_s: float) -> tuple[int, bool]:
    """(read timeout per attempt, retry?) so that every attempt fits in ``timeout_s``."""
    per_attempt = (timeout_s - BACKOFF_S) / ATTEMPTS - CONNECT_S
    if per_attempt >= MIN_READ_S:
        return _power_of_two_below(per_attempt), True
    single = timeout_s - CONNECT_S
    if single < 1:
        raise ModelUnavailable(f"{timeout_s:.1f} s left: too little for a model call")
    return _power_of_two_below(single), False


def _power_of_two_below(seconds: float) -> int:
    return 1 << (int(seconds).bit_length() - 1)


class BedrockProvider:
    name = "bedrock"

    def __init__(self, model: str) -> None:
        self.model = model

    def call(self, request: ModelRequest, *, timeout_s: float) -> ModelReply:
        read_s, retry = read_timeout_s(timeout_s)
        client = aws.client("bedrock-runtime", read_timeout_s=read_s, retry=retry)
        try:
            response = client.converse(**request_body(request))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            what = f"bedrock: {code}: {error.response.get('Error', {}).get('Message', '')}"
            if code in UNAVAILABLE:
                raise ModelUnavailable(what) from error
            if code in MISCONFIGURED:
                raise ProviderConfigError(what) from error
            raise ModelRequestRejected(what) from error
        except BotoCoreError as error:  # read/connect timeouts, no endpoint
            raise ModelUnavailable(f"bedrock: no answer: {error}") from error
        raw = {key: value for key, value in response.items() if key != "ResponseMetadata"}
        return parse_bedrock(request, raw)
