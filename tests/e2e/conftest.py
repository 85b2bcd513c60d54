"""End-to-end tests drive the local runner exactly as a user does: ``python -m infra.local``
as a subprocess, then HTTP.

Use the session-scoped ``runner`` fixture::

    pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

    def test_health(runner):
        assert runner.get("/health", key=None).json() == {"status": "ok"}

``make test`` runs ``pytest -n 2 --dist worksteal``: each worker starts with half of the
tests (the ``long`` ones first, tests/conftest.py), and one that runs out takes the end of
the other's queue; each worker that runs e2e tests starts its own session runner. A
scenario's fixtures are session-scoped, so each worker builds them at most once.
(``--dist loadgroup`` with
``xdist_group`` marks would keep e2e on one worker, but pytest-xdist 3.8 groups by renaming
``item._nodeid``, which pytest 9 no longer reads; ``loadfile`` grouped, and was no faster:
14.7 min of pytest against 14.2.) The marks stay, harmless.

What ``runner`` offers (``requests`` underneath; ``key`` defaults to the admin key and
``key=None`` sends no ``Authorization`` header; other keyword arguments go to ``requests``):

- ``url``, ``admin_key``, ``webhook_secret``, ``info`` (``.cognitionos/local.json``),
  ``aws_endpoint_url``, ``region``, ``log_path`` (the runner's stdout and stderr);
- ``get(path, key=..., **kw)``, ``post(path, json=..., key=..., **kw)``,
  ``delete(path, key=..., **kw)``;
- ``post_stripe(event_or_raw_bytes, secret=None, timestamp=None, signature=None)``: posts the
  raw bytes (a dict is JSON-encoded) to ``/webhooks/stripe`` with
  ``Stripe-Signature: t=<timestamp>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>``; ``secret``
  defaults to the runner's, ``timestamp`` to now; ``signature`` replaces the whole header
  (``""`` sends none);
- ``wait_for(predicate, timeout=30)``: polls until ``predicate()`` is truthy and returns it;
- ``client(service)``: a boto3 client on the runner's moto server.

A module that needs a second runner with its own empty store uses the session-scoped
``start_runner`` fixture: ``with start_runner("name") as other: ...`` (stopped, and checked
to exit 0, when the block ends).

The runner starts with ``COGNITION_SCHEDULES=off`` (jobs run only through
``POST /v1/admin/jobs/{job}``), a fixed ``STRIPE_WEBHOOK_SECRET`` and its own
``COGNITION_LOCAL_DIR``, and the agents call the session's fake model server
(``tests/e2e/fake_llm.py``: ``fake_llm().route(goal, ...)`` scripts a run by its goal); it is
stopped with SIGTERM at the end of the session and must exit 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
import pytest
import requests

from tests.e2e.fake_llm import fake_llm
from tests.revenue_scenario import FX_RATES

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
WEBHOOK_SECRET = "whsec_e2e0123456789abcdefghijklmnopqrstu"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
REQUEST_TIMEOUT_S = 60
_ADMIN = object()  # the default of ``key``: the admin key
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR not in Path(str(item.path)).resolve().parents:
            continue
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("e2e"))


class Runner:
    """A running ``python -m infra.local`` and helpers to talk to it."""

    def __init__(self, process: subprocess.Popen[bytes], info: dict[str, str], log_path: Path):
        self.process = process
        self.info = info
        self.log_path = log_path
        self.url = info["api_url"]
        self.admin_key = info["admin_api_key"]
        self.webhook_secret = info["stripe_webhook_secret"]
        self.aws_endpoint_url = info["aws_endpoint_url"]
        self.region = info["region"]

    # --- HTTP -----------------------------------------------------------------------------

    def request(
        self, method: str, path: str, key: Any = _ADMIN, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        token = self.admin_key if key is _ADMIN else key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        return requests.request(method, f"{self.url}{path}", headers=headers, **kwargs)

    def get(self, path: str, key: Any = _ADMIN, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, key, **kwargs)

    def post(self, path: str, key: Any = _ADMIN, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, key, **kwargs)

    def delete(self, path: str, key: Any = _ADMIN, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, key, **kwargs)

    def post_stripe(
        self,
        event: dict[str, Any] | bytes | str,
        secret: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """POST a webhook signed as Stripe signs it: HMAC-SHA256 over ``"<t>.<payload>"``."""
        if isinstance(event, dict):
            payload = json.dumps(event).encode()
        elif isinstance(event, str):
            payload = event.encode()
        else:
            payload = event
        if signature is None:
            t = int(time.time()) if timestamp is None else timestamp
            key = (secret if secret is not None else self.webhook_secret).encode()
            digest = hmac.new(key, f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
            signature = f"t={t},v1={digest}"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        if signature:
            headers["Stripe-Signature"] = signature
        return requests.post(
            f"{self.url}/webhooks/stripe",
            data=payload,
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        )

    # --- waiting and AWS ------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], T], timeout: float = 30, interval: float = 0.2) -> T:
        """Poll ``predicate`` until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the runner exited ({self.process.returncode}):\n{self.log()}"
                )
            time.sleep(interval)
        raise AssertionError(f"not true within {timeout} s; last value: {last!r}")

    def client(self, service: str) -> Any:
        return boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=self.region,
        ).client(service, endpoint_url=self.aws_endpoint_url)

    def log(self, tail: int = 8000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runner_env(port: int, local_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COGNITION_", "STRIPE_", "AWS_")) and k != "PORT"
    }
    env.update(
        {
            "PORT": str(port),
            "COGNITION_LOCAL_DIR": str(local_dir),
            "COGNITION_SCHEDULES": "off",
            "COGNITION_FX_RATES": FX_RATES,  # the revenue scenario's EUR customer
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PYTHONUNBUFFERED": "1",
            **fake_llm().env(),  # the agents' model: tests/e2e/fake_llm.py
            **extra,
        }
    )
    return env


def _start(
    workdir: Path, log: IO[bytes], extra_env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the runner and wait until local.json exists and /health answers 200."""
    local_dir = workdir / "local"
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        cwd=ROOT,
        env=_runner_env(_free_port(), local_dir, extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    local_json = local_dir / "local.json"
    while time.monotonic() < deadline and process.poll() is None:
        if local_json.exists():
            info: dict[str, str] = json.loads(local_json.read_text())
            try:
                health = requests.get(f"{info['api_url']}/health", timeout=30)
            except requests.ConnectionError:
                health = None
            if health is not None and health.status_code == 200:
                return process, info
        time.sleep(0.2)
    _terminate(process)
    raise RuntimeError(f"the local runner did not become ready (exit code {process.returncode})")


def _terminate(process: subprocess.Popen[bytes]) -> bool:
    """SIGTERM, as an operator would; kill if ignored. False when it had to be killed."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True


@contextmanager
def started_runner(workdir: Path, **extra_env: str) -> Iterator[Runner]:
    """A runner of its own in ``workdir`` (its local dir and ``runner.log``), stopped with
    SIGTERM on exit; it must exit 0. The session ``runner`` is one; a module that needs a
    second, empty store starts another with this (``extra_env``: more runner variables)."""
    log_path = workdir / "runner.log"
    with log_path.open("wb") as log:
        process, info = None, None
        for _ in range(3):  # a free port can be taken between the probe and the bind
            try:
                process, info = _start(workdir, log, extra_env)
                break
            except RuntimeError:
                tail = log_path.read_text(errors="replace")[-8000:]
                if "set PORT to a free port" not in tail:
                    raise RuntimeError(f"the local runner did not start:\n{tail}") from None
        if process is None or info is None:
            raise RuntimeError("the local runner found no free port")
        running = Runner(process, info, log_path)
        try:
            yield running
        finally:
            if not _terminate(process):
                pytest.fail(f"the runner ignored SIGTERM:\n{running.log()}")
    assert process.returncode == 0, f"the runner exited {process.returncode}:\n{running.log()}"


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with started_runner(tmp_path_factory.mktemp("local-runner")) as running:
        yield running


@pytest.fixture(scope="session")
def start_runner(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., AbstractContextManager[Runner]]:
    """``with start_runner("name") as other:`` another runner, with its own empty store;
    ``start_runner("name", COGNITION_X="on")`` sets runner variables too."""
    return lambda name, **env: started_runner(tmp_path_factory.mktemp(name), **env)
