"""Invariants of the topology that the stack and the local runner both rely on."""

from __future__ import annotations

import importlib

import pytest

from infra import topology


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda f: f.name)
def test_every_handler_imports_without_side_effects(fn: topology.Function) -> None:
    module_name, attribute = fn.handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_queue_visibility_outlasts_six_consumer_timeouts() -> None:
    for fn in topology.FUNCTIONS:
        if fn.consumes:
            assert fn.consumes.visibility_timeout_s >= 6 * fn.timeout_s, fn.name


def test_fifo_queues_do_not_batch_over_time_and_every_queue_has_a_redrive() -> None:
    for queue in topology.QUEUES:
        assert queue.max_receives >= 1
        if queue.fifo:
            assert queue.max_batching_window_s == 0


def test_every_scheduled_function_is_a_job_the_admin_route_can_run() -> None:
    runners = [fn for fn in topology.FUNCTIONS if fn.invokes]
    for fn in topology.FUNCTIONS:
        if fn.schedule:
            assert fn.job, f"{fn.name} has a schedule but no job name"
            assert any(fn.job in r.invokes for r in runners), f"no admin route runs {fn.job}"


def test_routes_are_unique_and_api_routes_have_sub_30s_timeouts() -> None:
    keys = [route.route_key for route, _ in topology.routes()]
    assert len(keys) == len(set(keys))
    for _, fn in topology.routes():
        assert fn.timeout_s < 30, f"{fn.name}: API Gateway stops waiting at 30 s"


def test_environment_variable_names_do_not_collide() -> None:
    for fn in topology.FUNCTIONS:
        names = list(fn.resource_env()) + list(fn.static_env())
        assert len(names) == len(set(names)), fn.name
