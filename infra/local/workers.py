"""Execution environments: each function runs in its own worker processes, like Lambda.

A function's first invocation spawns a worker (a real cold start: a fresh interpreter that
imports the handler); later ones reuse an idle warm worker, and up to ``pool_size`` run at
once. A worker that outlives the function's timeout is killed, as Lambda kills a sandbox.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import uuid
from dataclasses import dataclass
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from infra.local.worker_main import WorkerSpec, serve

log = logging.getLogger("infra.local")

# Lambda gives init 10 s; a laptop or a busy CI runner importing pydantic may need longer.
INIT_TIMEOUT_S = 30
FUNCTION_ERROR = "Unhandled"  # the X-Amz-Function-Error Lambda reports for every failure


class UnknownFunction(KeyError):
    pass


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome: the function's JSON answer or Lambda's error document."""

    request_id: str
    payload: bytes
    error: str | None = None  # FUNCTION_ERROR when the function failed, timed out or crashed
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


def _failure(request_id: str, error_type: str, message: str, timed_out: bool = False) -> Invocation:
    document = {
        "errorType": error_type,
        "errorMessage": f"RequestId: {request_id} Error: {message}",
    }
    return Invocation(request_id, json.dumps(document).encode(), FUNCTION_ERROR, timed_out)


class _Worker:
    """The runner's handle on one worker process."""

    def __init__(self, ctx: SpawnContext, spec: WorkerSpec) -> None:
        self.spec = spec
        self.conn, child = ctx.Pipe()
        self.process: SpawnProcess = ctx.Process(
            target=serve, args=(child, spec), name=f"lambda:{spec.function_name}", daemon=True
        )
        self.process.start()
        child.close()
        self.ready = False

    def invoke(self, request_id: str, payload: bytes) -> Invocation:
        """Run one event; a dead or timed-out worker is killed and must not be reused."""
        try:
            if not self.ready:
                failed = self._wait_ready(request_id)
                if failed is not None:
                    return failed
            self.conn.send((request_id, payload))
            if not self.conn.poll(self.spec.timeout_s):
                self.kill()
                print(f"{request_id} Task timed out after {self.spec.timeout_s:.2f} seconds")
                return _failure(
                    request_id,
                    "Sandbox.Timedout",
                    f"Task timed out after {self.spec.timeout_s:.2f} seconds",
                    timed_out=True,
                )
            kind, body = self.conn.recv()
        except (EOFError, OSError):
            return self._crashed(request_id)
        return Invocation(request_id, body, None if kind == "result" else FUNCTION_ERROR)

    def _wait_ready(self, request_id: str) -> Invocation | None:
        if not self.conn.poll(INIT_TIMEOUT_S):
            self.kill()
            return _failure(
                request_id, "Sandbox.Timedout", f"Init timed out after {INIT_TIMEOUT_S} seconds"
            )
        kind, body = self.conn.recv()
        if kind == "init_error":
            self.process.join(timeout=5)
            document = json.loads(body)
            document["requestId"] = request_id
            return Invocation(request_id, json.dumps(document).encode(), FUNCTION_ERROR)
        self.ready = True
        return None

    def _crashed(self, request_id: str) -> Invocation:
        self.process.join(timeout=1)
        code = self.process.exitcode
        self.kill()
        return _failure(
            request_id, "Runtime.ExitError", f"Runtime exited with error: exit status {code}"
        )

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """Kill the process; safe from any thread (the pipe stays open for its owner)."""
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)

    def dispose(self) -> None:
        """Kill the process and close the pipe: only the thread that holds the worker."""
        self.kill()
        self.conn.close()


class FunctionPool:
    """Up to ``size`` warm workers of one function; started lazily, reused, replaced."""

    def __init__(self, spec: WorkerSpec, size: int, ctx: SpawnContext) -> None:
        self.spec = spec
        self._size = size
        self._ctx = ctx
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._cond = threading.Condition()
        self._closed = False

    def invoke(self, payload: bytes) -> Invocation:
        request_id = str(uuid.uuid4())
        worker = self._acquire()
        if worker is None:
            return _failure(request_id, "Runtime.Unavailable", "the local runner is stopping")
        outcome = worker.invoke(request_id, payload)
        self._release(worker)
        return outcome

    def _acquire(self) -> _Worker | None:
        with self._cond:
            while not self._closed and not self._idle and len(self._all) >= self._size:
                self._cond.wait()
            if self._closed:
                return None
            while self._idle:
                warm = self._idle.pop()  # the most recently used: the warmest
                if warm.alive:
                    return warm
                self._all.discard(warm)
                warm.dispose()
            worker = _Worker(self._ctx, self.spec)  # a cold start
            self._all.add(worker)
            return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.alive and worker.ready and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                worker.dispose()
            self._cond.notify()

    def close(self) -> None:
        """Refuse new invocations and kill every worker, as Lambda tears a sandbox down (a
        Python function without extensions gets no shutdown phase). A busy worker's
        invocation fails; its thread closes the pipe."""
        with self._cond:
            self._closed = True
            idle = list(self._idle)
            busy = [worker for worker in self._all if worker not in idle]
            self._idle.clear()
            self._all.clear()
            self._cond.notify_all()
        for worker in busy:
            worker.process.kill()
        for worker in idle:
            worker.process.kill()
            worker.dispose()
        for worker in busy:
            worker.process.join(timeout=5)


class Workers:
    """Every function's pool, by local function name."""

    def __init__(self, specs: list[WorkerSpec], pool_size: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pools = {spec.function_name: FunctionPool(spec, pool_size, ctx) for spec in specs}

    @property
    def names(self) -> list[str]:
        return list(self._pools)

    def spec(self, name: str) -> WorkerSpec:
        return self._pool(name).spec

    def invoke(self, name: str, payload: bytes) -> Invocation:
        return self._pool(name).invoke(payload)

    def _pool(self, name: str) -> FunctionPool:
        pool = self._pools.get(name)
        if pool is None:
            raise UnknownFunction(name)
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
