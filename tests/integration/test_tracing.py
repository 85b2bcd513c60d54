"""With tracing on (``-c tracing=true``: ``POWERTOOLS_TRACE_DISABLED=false`` in Lambda), X-Ray
gets each handler's timing and annotations, never its response or its error: a billing read
answers with a customer's decrypted email and name.

Powertools Tracer takes its provider from its class-wide configuration; the tests put a
recording provider there in place of the X-Ray recorder (the SDK then sends nothing, and
patches nothing), and run the real billing read handler under it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from tests.factories import customer, http_event, stripe_event
from tests.integration.conftest import Aws, LambdaContext
from tests.integration.test_process_events import ingest, process

EMAIL, NAME = "jenny.rosen@example.com", "Jenny Rosen"


class RecordedSubsegment(BaseSegment):
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.exceptions: list[BaseException] = []

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.setdefault(namespace, {})[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.exceptions.append(exception)


class RecordingProvider(BaseProvider):
    """What the X-Ray recorder would have been given, kept in memory."""

    def __init__(self) -> None:
        self.subsegments: list[RecordedSubsegment] = []
        self.metadata: dict[str, Any] = {}

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[RecordedSubsegment]:
        subsegment = RecordedSubsegment(str(name))
        self.subsegments.append(subsegment)
        yield subsegment

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        subsegment = RecordedSubsegment(str(name))
        self.subsegments.append(subsegment)
        yield subsegment

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass

    def everything_recorded(self) -> str:
        """Every metadata value and annotation, as the text X-Ray would store."""
        found: list[Any] = [self.metadata]
        for subsegment in self.subsegments:
            found += [subsegment.metadata, subsegment.annotations]
        return json.dumps(found, default=repr)


def tracing_on(monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    """Tracing on from now, as in a Lambda deployed with -c tracing=true, recorded in memory.

    After the setup of a test: a handler module imported from now on wraps its handler."""
    provider = RecordingProvider()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # Tracer stays off outside Lambda
    # Tracer keeps its configuration on the class: this test's, restored afterwards.
    monkeypatch.setattr(Tracer, "_config", {**Tracer._default_config, "provider": provider})
    return provider


def untraced(handler: Any) -> Any:
    """The handler function under its Logger and Metrics decorators (as imported with
    tracing off, ``traced`` left it alone)."""
    while hasattr(handler, "__wrapped__"):
        handler = handler.__wrapped__
    return handler


def test_a_traced_read_records_its_timing_but_not_the_personal_data_it_answers(
    aws: Aws, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.handlers import api
    from cognitionos.observability import traced

    created = stripe_event("customer.created", {**customer("cus_y"), "currency": "usd"})
    process(aws, context, ingest(aws, context, created))
    xray = tracing_on(monkeypatch)
    handler = traced(untraced(api.lambda_handler))  # as it is built with tracing on
    path = "/v1/billing/customers/cus_y"
    event = http_event("GET", path, headers={"authorization": f"Bearer {aws.admin_key}"})

    response = handler(event, context)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["email"], body["name"]) == (200, EMAIL, NAME)
    (subsegment,) = xray.subsegments
    assert subsegment.name == "## lambda_handler"
    assert subsegment.annotations["ColdStart"] in (True, False)
    recorded = xray.everything_recorded()
    assert EMAIL not in recorded and NAME not in recorded
    assert subsegment.metadata == {}


def test_a_traced_handler_that_fails_records_no_error_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cognitionos.observability import traced

    xray = tracing_on(monkeypatch)

    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError(f"cannot send to {EMAIL}")  # what a careless message could carry

    with pytest.raises(ValueError, match="cannot send"):
        traced(handler)({}, None)
    (subsegment,) = xray.subsegments
    assert subsegment.metadata == {}
    assert EMAIL not in xray.everything_recorded()
