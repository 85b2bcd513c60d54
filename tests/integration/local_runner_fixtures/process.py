"""Start ``python -m infra.local`` as a subprocess, exactly as ``make run`` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[3]
TEST_TOPOLOGY = "tests.integration.local_runner_fixtures.topology"


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without anything that configures the runner."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COGNITION_", "STRIPE_", "AWS_", "PORT", "OPENAI_", "REDIS_"))
    }
    env.update(overrides)
    return env


class RunnerProcess:
    def __init__(self, workdir: Path, env: dict[str, str], topology: str | None = None) -> None:
        self.workdir = workdir
        self.local_dir = workdir / "local"
        self.log_path = workdir / "runner.log"
        args = [sys.executable, "-m", "infra.local"]
        if topology:
            args += ["--topology", topology]
        full_env = {"PORT": "0", "COGNITION_LOCAL_DIR": str(self.local_dir), **env}
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.started = time.time()
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.info: dict[str, Any] = {}

    def wait_ready(self, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        path = self.local_dir / "local.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runner exited with {self.process.returncode}:\n{self.log()}")
            if path.exists():
                self.info = json.loads(path.read_text())
                return self.info
            time.sleep(0.1)
        raise AssertionError(f"runner not ready after {timeout_s} s:\n{self.log()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"runner ignored {sig.name}:\n{self.log()}") from None
        self._log.close()
        return self.process.returncode

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    @property
    def url(self) -> str:
        return str(self.info["api_url"])

    def client(self, service: str) -> Any:
        return boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=self.info["region"],
        ).client(service, endpoint_url=self.info["aws_endpoint_url"])

    def children(self) -> list[int]:
        """Pids whose parent is the runner (Linux /proc)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
