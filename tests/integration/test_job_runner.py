"""Running a job on demand against a Lambda Invoke endpoint on loopback (no moto)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cognitionos.errors import DomainError


@pytest.fixture
def lambda_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A Lambda Invoke API that records invocations and answers after ``delay`` seconds."""
    state: dict[str, Any] = {"invocations": [], "delay": 0.0, "reply": {"ok": True}, "error": False}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state["invocations"].append((self.path, json.loads(self.rfile.read(length))))
            time.sleep(state["delay"])
            body = json.dumps(state["reply"]).encode()
            self.send_response(200)
            if state["error"]:
                self.send_header("X-Amz-Function-Error", "Unhandled")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, value in {
        "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{server.server_address[1]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    from cognitionos.aws import reset_clients

    reset_clients()
    yield state
    server.shutdown()
    reset_clients()


def test_a_job_gets_its_schedule_event_marked_on_demand_and_its_summary_is_returned(
    lambda_endpoint: dict[str, Any],
) -> None:
    from platform_api.dal.jobs import JobRunner

    lambda_endpoint["reply"] = {"checked": 3}
    assert JobRunner({"billing-reconcile": "fn-reconcile"}).run("billing-reconcile") == {
        "checked": 3
    }
    [(path, event)] = lambda_endpoint["invocations"]
    assert "/functions/fn-reconcile/invocations" in path
    assert (event["detail-type"], event["detail"]) == (
        "Scheduled Event",
        {"job": "billing-reconcile", "on_demand": True},
    )


def test_a_failing_job_is_a_502_naming_the_error(lambda_endpoint: dict[str, Any]) -> None:
    from platform_api.dal.jobs import JobRunner

    lambda_endpoint.update(error=True, reply={"errorMessage": "boom", "errorType": "RuntimeError"})
    with pytest.raises(DomainError, match="job 'billing-reconcile' failed: boom") as caught:
        JobRunner({"billing-reconcile": "fn"}).run("billing-reconcile")
    assert caught.value.status_code == 502


def test_a_slow_job_is_invoked_once_and_answers_504(
    lambda_endpoint: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_api.dal import jobs

    monkeypatch.setattr(jobs, "JOB_WAIT_S", 1)
    lambda_endpoint["delay"] = 2.5
    with pytest.raises(DomainError, match="still running") as caught:
        jobs.JobRunner({"billing-reconcile": "fn"}).run("billing-reconcile")
    time.sleep(2)
    assert caught.value.status_code == 504
    assert len(lambda_endpoint["invocations"]) == 1
