"""Which channels get an alert's notification, and which silences mute it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alerts.logic.rules import rank


@dataclass(frozen=True)
class Route:
    """A channel's routing: every alert at or above ``min_severity`` whose labels hold all of
    ``match``."""

    channel_id: str
    min_severity: str
    match: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Silence:
    silence_id: str
    match: Mapping[str, str]
    ends_at: int  # Unix seconds


def labels_match(match: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in match.items())


def routed(severity: str, labels: Mapping[str, str], routes: Iterable[Route]) -> list[str]:
    """The ids of the channels that get an alert of ``severity`` with ``labels``."""
    return [
        route.channel_id
        for route in routes
        if rank(severity) >= rank(route.min_severity) and labels_match(route.match, labels)
    ]


def silenced(labels: Mapping[str, str], silences: Iterable[Silence], now: int) -> bool:
    return any(now < s.ends_at and labels_match(s.match, labels) for s in silences)
