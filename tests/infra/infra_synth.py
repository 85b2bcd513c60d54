"""Synthesizing the CognitionOS stack for tests, and reading template values."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# Before aws_cdk starts its node process: Node 20 works, jsii only warns about it.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

import app as entry
from infra.stack import CognitionOSStack

ROOT = Path(__file__).resolve().parents[2]


def cdk_context(**extra: Any) -> dict[str, Any]:
    """cdk.json's feature flags (as `cdk synth` sees them), with bundling skipped.

    Skipping bundling keeps pip (and the network) out of the tests; `make synth` bundles.
    """
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": [], **extra}


@dataclass(frozen=True)
class Synth:
    """A synthesized stack. Its template and logical ids are read through jsii once each and
    kept: every call crosses to the node process (~0.1 s for the template, and slower as the
    session goes on), and the infra tests ask for them thousands of times. Treat what they
    return as read-only: it is shared by every test of the session."""

    stack: CognitionOSStack
    template: Template
    assembly: Path
    _ids: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def template_json(self) -> dict[str, Any]:
        rendered: dict[str, Any] = self.template.to_json()
        return rendered

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template_json["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] == kind}

    def id(self, construct: Any) -> str:
        """Logical id of a construct's CloudFormation resource (an L1, or an L2's default child)."""
        # Keyed by the proxy's identity; the proxy is kept with its id so that identity is
        # never reused by another object.
        known = self._ids.get(id(construct))
        if known is None:
            element = construct.node.default_child or construct
            known = (construct, Stack.of(self.stack).get_logical_id(element))
            self._ids[id(construct)] = known
        return known[1]

    def props(self, construct: Any) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[self.id(construct)]["Properties"]
        return properties


def synthesize(outdir: Path, **context: Any) -> Synth:
    app = App(context=cdk_context(**context), outdir=str(outdir))
    stack = entry.build(app)
    # The AwsSolutions plugin runs during synthesis: an unacknowledged finding raises here.
    template = Template.from_stack(stack)
    assembly = Path(app.synth().directory)  # cached: the synthesis above, not a second one
    return Synth(stack=stack, template=template, assembly=assembly)


def refs(value: Any) -> set[str]:
    """Logical ids referenced (Ref / Fn::GetAtt) anywhere inside a template value."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value)) if value else set()
    return set()


def render(value: Any) -> str:
    """A template string value with each token shown as ``<LogicalId>`` / ``<Id.Attr>``."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)
    raise ValueError(f"cannot render {value!r}")
