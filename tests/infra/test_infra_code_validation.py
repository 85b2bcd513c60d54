"""code-validate runs code it did not write: in subnets with no route anywhere, behind a
security group that allows nothing, with reserved concurrency, its own layer of tools, and a
role that can do nothing but write its logs (and let Lambda place it in those subnets)."""

from __future__ import annotations

import pytest
from infra_synth import Synth, refs

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")


def validator_props(synth: Synth) -> dict:
    return synth.props(synth.stack.functions.functions[topology.CODE_VALIDATE])


def test_the_validator_sits_only_in_the_isolated_subnets_behind_a_rule_less_group(
    synth: Synth,
) -> None:
    network = synth.stack.isolated_network
    config = validator_props(synth)["VpcConfig"]
    isolated = {synth.id(subnet) for subnet in network.vpc.isolated_subnets}
    assert set().union(*(refs(s) for s in config["SubnetIds"])) == isolated
    assert not network.vpc.public_subnets and not network.vpc.private_subnets
    [group] = config["SecurityGroupIds"]
    assert refs(group) == {synth.id(network.security_group)}
    props = synth.props(network.security_group)
    assert "SecurityGroupIngress" not in props
    # CDK's placeholder for "no egress": one rule that matches no traffic.
    assert props["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


def test_the_isolated_network_has_no_route_out_of_it(synth: Synth) -> None:
    for kind in (
        "AWS::EC2::Route",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::VPCEndpoint",
        "AWS::EC2::VPCPeeringConnection",
        "AWS::EC2::TransitGatewayAttachment",
        "AWS::EC2::EgressOnlyInternetGateway",
    ):
        assert not synth.of_type(kind), kind
    assert synth.of_type("AWS::EC2::FlowLog")


def test_only_the_validator_is_isolated_and_has_the_tools_layer(synth: Synth) -> None:
    layer = synth.id(synth.stack.layers.own[topology.CODE_VALIDATION_LAYER.name])
    for fn in topology.FUNCTIONS:
        props = synth.props(synth.stack.functions.functions[fn.name])
        has_layer = layer in set().union(*(refs(ref) for ref in props["Layers"]))
        assert has_layer == (fn.name == topology.CODE_VALIDATE), fn.name
        assert ("VpcConfig" in props) == (fn.name == topology.CODE_VALIDATE), fn.name


def test_the_validator_has_reserved_concurrency_and_room_for_its_stages(synth: Synth) -> None:
    props = validator_props(synth)
    assert props["ReservedConcurrentExecutions"] == 10
    assert props["MemorySize"] == 2048
    assert props["Timeout"] == 25


def test_a_validating_function_knows_the_validator_by_name(synth: Synth) -> None:
    validator = synth.id(synth.stack.functions.functions[topology.CODE_VALIDATE])
    for fn in topology.FUNCTIONS:
        env = synth.props(synth.stack.functions.functions[fn.name])["Environment"]["Variables"]
        if fn.validates_code:
            assert refs(env[topology.CODE_VALIDATE_ENV]) == {validator}, fn.name
        else:
            assert topology.CODE_VALIDATE_ENV not in env, fn.name


def test_the_validator_gets_no_resource_in_its_environment(synth: Synth) -> None:
    env = validator_props(synth)["Environment"]["Variables"]
    assert set(env) == {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
        "POWERTOOLS_TRACE_DISABLED",
    }
