"""Inside one local execution environment: a spawned process that imports one handler and
answers invocations over a pipe, as Lambda's Python runtime does.

Only the standard library is imported here, so a cold start costs what the function's own
imports cost. The parent side is ``infra.local.workers``.

Protocol: after init the worker sends ``("ready", b"")`` or ``("init_error", <error JSON>)``
(and exits). Then, per ``(request_id, event JSON)`` it receives, it answers ``("result",
<response JSON>)`` or ``("error", <error JSON>)``. ``None`` or a closed pipe ends it.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs; picklable, sent to the spawned process."""

    function_name: str  # the local function name (what Lambda's Invoke API takes)
    handler: str  # "package.module.function"
    memory_mb: int
    timeout_s: int
    invoked_function_arn: str
    env: dict[str, str]
    code_paths: tuple[str, ...]  # /var/task and /opt/python: first on sys.path


class LocalLambdaContext:
    """The ``context`` argument: the attributes of Lambda's Python runtime context object."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, spec: WorkerSpec, request_id: str, log_stream_name: str) -> None:
        self.function_name = spec.function_name
        self.invoked_function_arn = spec.invoked_function_arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = log_stream_name
        self._deadline_ms = time.time() * 1000 + spec.timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def serve(conn: Connection, spec: WorkerSpec) -> None:
    """The worker process's entry point."""
    # Ctrl-C reaches the whole process group; the runner, not the worker, decides to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _setup_process(spec)
    log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
    os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = log_stream
    try:
        handler = load_handler(spec.handler)
    except Exception as exc:
        error = _init_error(spec.handler, exc)
        _log_error(error)
        conn.send(("init_error", json.dumps(error).encode()))
        return
    conn.send(("ready", b""))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        request_id, payload = message
        kind, body = invoke(handler, payload, LocalLambdaContext(spec, request_id, log_stream))
        conn.send((kind, body))


def _setup_process(spec: WorkerSpec) -> None:
    # Lambda sends stdout and stderr to the same log stream; so does the runner.
    sys.stdout.flush()
    os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    os.environ.clear()
    os.environ.update(spec.env)
    time.tzset()
    for path in reversed(spec.code_paths):
        while path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def load_handler(handler: str) -> Handler:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _HandlerNotFound(f"Handler '{function_name}' missing on module '{module_name}'")
    return function  # type: ignore[no-any-return]


class _HandlerNotFound(Exception):
    pass


def invoke(handler: Handler, payload: bytes, context: LocalLambdaContext) -> tuple[str, bytes]:
    """Run the handler on one event; Lambda's success payload or its error document."""
    try:
        event = json.loads(payload)
        result = handler(event, context)
    except Exception as exc:
        error = error_document(exc, context.aws_request_id)
        _log_error(error)
        return "error", json.dumps(error).encode()
    try:
        return "result", json.dumps(result, default=_decimal).encode()
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": context.aws_request_id,
            "stackTrace": [],
        }
        _log_error(error)
        return "error", json.dumps(error).encode()


def error_document(exc: BaseException, request_id: str = "") -> dict[str, Any]:
    """``{errorMessage, errorType, requestId, stackTrace}`` as the Python runtime reports."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _init_error(handler: str, exc: Exception) -> dict[str, Any]:
    error = error_document(exc)
    module_name = handler.rpartition(".")[0]
    if isinstance(exc, ImportError):
        error["errorType"] = "Runtime.ImportModuleError"
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
    elif isinstance(exc, _HandlerNotFound):
        error["errorType"] = "Runtime.HandlerNotFound"
    elif isinstance(exc, SyntaxError):
        error["errorType"] = "Runtime.UserCodeSyntaxError"
    return error


def _log_error(error: dict[str, Any]) -> None:
    trace = "".join(error.get("stackTrace") or [])
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n{trace}".rstrip())


def _decimal(value: object) -> object:
    # The Python runtime's encoder turns a Decimal (DynamoDB's numbers) into a float.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
