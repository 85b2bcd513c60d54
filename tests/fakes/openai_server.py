"""A fake OpenAI-compatible model server on loopback (and Anthropic's Messages route), for
the providers and the agents' end-to-end tests.

It answers every forced tool from a script, counts calls per tool and keeps every request
body::

    script = {"submit_plan": [{"tasks": [...]}], "submit_evaluation": [Answer(...)]}
    with FakeOpenAI(script) as fake:             # OPENAI_BASE_URL=fake.url
        ...
        assert fake.calls["submit_plan"] == 1
        assert fake.requests[0]["max_tokens"] == 1024

A script is a mapping tool name -> answers, used in order with the last one repeated, or a
callable ``(tool name, request body) -> answer``. An answer is the tool's arguments (a dict)
or an ``Answer`` saying how to answer: other usage, a malformed call, an HTTP error, a delay.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


@dataclass(frozen=True)
class Answer:
    arguments: dict[str, Any] | str | None = None  # a str is sent as is (malformed JSON)
    input_tokens: int | None = None  # None: the fake's default usage
    output_tokens: int | None = None
    tool: str | None = None  # call this tool instead of the forced one
    text_only: str | None = None  # answer this text and no tool call
    status: int = 200  # e.g. 429 or 500: an error answer
    retry_after_s: float | None = None  # Retry-After on an error answer
    delay_s: float = 0.0  # answer this much later (timeouts)


Script = (
    Mapping[str, Sequence[Answer | dict[str, Any]]]
    | Callable[[str, dict[str, Any]], Answer | dict[str, Any]]
)


@dataclass
class FakeOpenAI:
    script: Script
    model: str = "fake-model"
    usage: tuple[int, int] = (120, 40)  # (input, output) tokens reported by default
    calls: Counter[str] = field(default_factory=Counter)  # requests per forced tool, failed too
    requests: list[dict[str, Any]] = field(default_factory=list)  # every body, in order
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""  # OPENAI_BASE_URL: http://127.0.0.1:<port>/v1
    root_url: str = ""  # the Anthropic SDK's base_url: http://127.0.0.1:<port>
    _used: Counter[str] = field(default_factory=Counter)
    _failures: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def fail_next(self, count: int, status: int = 500, retry_after_s: float | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` before the script resumes."""
        with self._lock:
            self._failures.extend([Answer(status=status, retry_after_s=retry_after_s)] * count)

    def bodies(self, tool: str) -> list[dict[str, Any]]:
        """The request bodies that forced ``tool``."""
        return [body for body in self.requests if _forced_tool(body) == tool]

    def __enter__(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.root_url = f"http://127.0.0.1:{port}"
        self.url = f"{self.root_url}/v1"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], Answer]:
        tool = _forced_tool(body)
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
            if tool is None:
                return 400, _error("tool_choice must force one tool", "invalid_request"), Answer()
            self.calls[tool] += 1
            if self._failures:
                planned = self._failures.pop(0)
            else:
                planned = _as_answer(self._next(tool, body))
        if planned.status != 200:
            return planned.status, _error("the fake was told to fail", "server_error"), planned
        usage = (
            planned.input_tokens if planned.input_tokens is not None else self.usage[0],
            planned.output_tokens if planned.output_tokens is not None else self.usage[1],
        )
        render = _anthropic_reply if path == ANTHROPIC_PATH else _openai_reply
        return 200, render(self.model, tool, planned, usage, len(self.requests)), planned

    def _next(self, tool: str, body: dict[str, Any]) -> Answer | dict[str, Any]:
        if callable(self.script):
            return self.script(tool, body)
        answers = self.script.get(tool)
        if not answers:
            raise LookupError(f"the script has no answer for {tool}")
        index = min(self._used[tool], len(answers) - 1)  # the last answer repeats
        self._used[tool] += 1
        return answers[index]


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return None
    if choice.get("type") == "function":  # OpenAI
        return (choice.get("function") or {}).get("name")
    if choice.get("type") == "tool":  # Anthropic
        return choice.get("name")
    return None


def _as_answer(answer: Answer | dict[str, Any]) -> Answer:
    return answer if isinstance(answer, Answer) else Answer(arguments=answer)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"type": "error", "error": {"message": message, "type": kind}}


def _openai_reply(
    model: str, tool: str, answer: Answer, usage: tuple[int, int], n: int
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text_only}
    if answer.text_only is None:
        arguments = answer.arguments
        message["tool_calls"] = [
            {
                "id": f"call_{n}",
                "type": "function",
                "function": {
                    "name": answer.tool or tool,
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        ]
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "stop" if answer.text_only is not None else "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def _anthropic_reply(
    model: str, tool: str, answer: Answer, usage: tuple[int, int], n: int
) -> dict[str, Any]:
    if answer.text_only is not None:
        content = [{"type": "text", "text": answer.text_only}]
    else:
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_{n}",
                "name": answer.tool or tool,
                "input": answer.arguments,
            }
        ]
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn" if answer.text_only is not None else "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path not in (OPENAI_PATH, ANTHROPIC_PATH):
                self._send(404, _error(f"no route {self.path}", "not_found"), Answer())
                return
            self._send(*fake.answer(self.path, body))

        def _send(self, status: int, body: dict[str, Any], answer: Answer) -> None:
            if answer.delay_s:
                time.sleep(answer.delay_s)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                if answer.retry_after_s is not None:
                    self.send_header("Retry-After", str(answer.retry_after_s))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                return

    return Handler
