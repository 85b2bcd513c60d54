"""The actions each function role is allowed, read back from the synthesized template.

``action_table(synth)`` renders one row per function and resource (tables and indexes,
queues, buckets, secrets, keys, log groups, email identities and templates, functions) with
the actions allowed on it, as a Markdown table: for reviews, and written by the infra tests
to ``tests/artifacts/permissions.md``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from infra_synth import Synth, render

from infra import topology

_TOKEN = re.compile(r"<([A-Za-z0-9]+)(?:\.[A-Za-z]+)?>")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _labels(synth: Synth) -> dict[str, str]:
    """Logical id -> a readable name of the resource."""
    stack = synth.stack
    labels: dict[str, str] = {}
    for name, table in stack.data.tables.items():
        labels[synth.id(table)] = f"table {name}"
    for name, queue in stack.queues.queues.items():
        labels[synth.id(queue)] = f"queue {name}"
    for name, dlq in stack.queues.dead_letter_queues.items():
        labels[synth.id(dlq)] = f"queue {name}-dlq"
    for name, secret in stack.secrets.secrets.items():
        labels[synth.id(secret)] = f"secret {name}"
    for name, bucket in stack.buckets.buckets.items():
        labels[synth.id(bucket)] = f"bucket {name}"
    for name, key in stack.data.keys.items():
        labels[synth.id(key)] = f"key {name}"
    labels[synth.id(stack.data.key)] = "stack key"
    for name, template in stack.email.templates.items():
        labels[synth.id(template)] = name
    for fn in topology.FUNCTIONS:
        labels[synth.id(stack.functions.functions[fn.name])] = f"function {fn.name}"
        config = synth.props(stack.functions.functions[fn.name])["LoggingConfig"]
        labels[str(config["LogGroup"]["Ref"])] = "own log group"
    return labels


def _label(resource: Any, labels: dict[str, str]) -> str:
    text = render(resource)
    text = _TOKEN.sub(lambda m: labels.get(m.group(1), m.group(0)), text)
    text = text.replace("arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:", "ses ")
    text = text.replace("/index/", " index ")
    return text


def role_statements(synth: Synth, role_id: str, effect: str = "Allow") -> list[dict[str, Any]]:
    """The role's inline statements of one ``effect`` (every role also has the audit Deny)."""
    role = synth.resources[role_id]["Properties"]
    return [
        s
        for policy in role.get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == effect
    ]


def actions_by_resource(
    synth: Synth, fn: topology.Function, *, mark_conditions: bool = False
) -> dict[str, set[str]]:
    """Readable resource -> the actions ``fn``'s role is allowed on it (``mark_conditions``:
    a resource allowed under conditions says so)."""
    labels = _labels(synth)
    role_id = synth.id(synth.stack.functions.roles[fn.name])
    found: dict[str, set[str]] = defaultdict(set)
    for statement in role_statements(synth, role_id):
        for resource in _as_list(statement["Resource"]):
            label = _label(resource, labels)
            if mark_conditions and statement.get("Condition"):
                label += " (with conditions)"
            found[label] |= set(_as_list(statement["Action"]))
    return dict(found)


def action_table(synth: Synth) -> str:
    lines = ["| function | resource | actions |", "|---|---|---|"]
    for fn in topology.FUNCTIONS:
        rows = actions_by_resource(synth, fn, mark_conditions=True)
        for resource in sorted(rows):
            actions = sorted(rows[resource])
            services = {a.split(":", 1)[0] for a in actions}
            if len(services) == 1:
                text = f"{services.pop()}: " + ", ".join(a.split(":", 1)[1] for a in actions)
            else:
                text = ", ".join(actions)
            lines.append(f"| {fn.name} | {resource} | {text} |")
    return "\n".join(lines) + "\n"
