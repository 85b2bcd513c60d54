"""-c alertsCache=true: an ElastiCache Serverless (Valkey) cache, and only the functions that
use it placed in its VPC, with REDIS_URL pointing at it. Off by default (no VPC, no cost)."""

from __future__ import annotations

import pytest
from infra_synth import Synth, refs, synthesize

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")


def test_the_default_stack_has_no_cache_and_only_the_isolated_vpc(synth: Synth) -> None:
    assert not synth.of_type("AWS::ElastiCache::ServerlessCache")
    assert set(synth.of_type("AWS::EC2::VPC")) == {synth.id(synth.stack.isolated_network.vpc)}
    assert not synth.of_type("AWS::EC2::NatGateway")


def test_the_cache_flag_places_only_the_functions_that_use_it_in_the_vpc(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cached = synthesize(tmp_path_factory.mktemp("cdk.out.cache"), alertsCache="true")
    [cache_id] = cached.of_type("AWS::ElastiCache::ServerlessCache")
    assert cached.resources[cache_id]["Properties"]["Engine"] == "valkey"
    for fn in topology.FUNCTIONS:
        props = cached.props(cached.stack.functions.functions[fn.name])
        assert ("VpcConfig" in props) == (fn.uses_cache or fn.isolated), fn.name
        redis_url = props["Environment"]["Variables"].get("REDIS_URL")
        if fn.uses_cache:
            assert cache_id in refs(redis_url), fn.name
