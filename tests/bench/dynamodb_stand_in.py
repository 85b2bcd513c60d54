"""A stand-in for DynamoDB at botocore's ``before-send`` hook, for the two things moto cannot do
within a benchmark's time at 100k customers.

``FeedPages`` answers the full read of the MRR change feed (a Query of its index from position 0)
with pages serialized beforehand: moto walks and sorts the whole table for every page and
serializes each item it returns (a customer's record set) in ~2-3 ms, so reading 100k sets
through it would take many minutes. Everything on the client side stays real: botocore
parses the pages, boto3 deserializes the items, ``MrrFeedReader`` turns them into record
sets.

``DiscardedWrites`` answers every other call of a full recompute as DynamoDB would an empty
revenue table, dropping the writes (after botocore has serialized them), so that a process
measuring its own memory holds no table at all: what it holds is the job's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from cognitionos.mrr_feed import FEED_INDEX, FEED_PK, FEED_SK, feed_position

PAGE_BYTES = 1024 * 1024  # DynamoDB stops a Query page at 1 MB of items
KEYS = ("pk", "sk", FEED_PK, FEED_SK)
JSON_HEADERS = {"content-type": "application/x-amz-json-1.0"}


class _Body(BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.read()


def _answer(request: AWSPreparedRequest, body: bytes) -> AWSResponse:
    return AWSResponse(request.url, 200, JSON_HEADERS, _Body(body))


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item, near enough: names and values, numbers packed two digits
    a byte, lists and maps (a record set's ``records``) 3 bytes and 1 per element more."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 3 + sum(1 + _value_size(v) for v in value)
    return len(str(value)) // 2 + 2


class _PagesOnDisk(Sequence[bytes]):
    def __init__(self, directory: Path, count: int) -> None:
        self._directory, self._count = directory, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:  # type: ignore[override]
        return (self._directory / f"page-{index:05d}.json").read_bytes()


@dataclass
class FeedPages:
    """The feed's full read, one response body per page; ``last_keys[i]`` is the index sort
    key of page i's last item (the next request's ``ExclusiveStartKey``); ``sets``: the
    items, one record set each."""

    bodies: Sequence[bytes]
    last_keys: list[str]
    sets: int

    @classmethod
    def of(cls, items: Iterable[dict[str, Any]]) -> FeedPages:
        serializer = TypeSerializer()
        pages: list[list[dict[str, Any]]] = [[]]
        size = 0
        for item in sorted(items, key=lambda i: str(i[FEED_SK])):
            bytes_ = item_size(item)
            if pages[-1] and size + bytes_ > PAGE_BYTES:
                pages.append([])
                size = 0
            pages[-1].append(item)
            size += bytes_
        bodies, last_keys = [], []
        for number, page in enumerate(pages):
            wire = [{k: serializer.serialize(v) for k, v in item.items()} for item in page]
            body: dict[str, Any] = {"Items": wire, "Count": len(wire), "ScannedCount": len(wire)}
            if number < len(pages) - 1:
                body["LastEvaluatedKey"] = {k: wire[-1][k] for k in KEYS}
            bodies.append(json.dumps(body).encode())
            last_keys.append(str(page[-1][FEED_SK]))
        return cls(bodies, last_keys, sum(len(p) for p in pages))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for number, body in enumerate(self.bodies):
            (directory / f"page-{number:05d}.json").write_bytes(body)
        index = {"last_keys": self.last_keys, "sets": self.sets}
        (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> FeedPages:
        """Pages read from disk one at a time, when asked for."""
        index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
        keys = index["last_keys"]
        return cls(_PagesOnDisk(directory, len(keys)), keys, index["sets"])

    def answer(self, request: AWSPreparedRequest, body: dict[str, Any]) -> AWSResponse:
        if {"S": feed_position(0)} not in body.get("ExpressionAttributeValues", {}).values():
            raise AssertionError("the stand-in serves only the feed's full read (since 0)")
        start = body.get("ExclusiveStartKey")
        number = 0 if start is None else self.last_keys.index(start[FEED_SK]["S"]) + 1
        return _answer(request, self.bodies[number])

    def __call__(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse:
        """A ``before-send.dynamodb`` handler for a client that reads the feed and nothing
        else (botocore calls every handler, so moto's must be unregistered from it)."""
        body = json.loads(request.body or b"{}")
        if not event_name.endswith(".Query") or body.get("IndexName") != FEED_INDEX:
            raise AssertionError(f"the feed's stand-in got {event_name}: {body}")
        return self.answer(request, body)


@dataclass
class DiscardedWrites:
    """A ``before-send.dynamodb`` handler for a full recompute into an empty revenue table:
    the feed from ``feed``, no stored state or years, every write accepted and dropped."""

    feed: FeedPages
    items_written: int = 0

    def __call__(
        self, request: AWSPreparedRequest, event_name: str, **_: Any
    ) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        body = json.loads(request.body or b"{}")
        answer: dict[str, Any]
        if operation == "Query" and body.get("IndexName") == FEED_INDEX:
            return self.feed.answer(request, body)
        if operation == "Query":
            answer = {"Items": [], "Count": 0, "ScannedCount": 0}
        elif operation == "BatchWriteItem":
            self.items_written += sum(len(r) for r in body["RequestItems"].values())
            answer = {"UnprocessedItems": {}}
        elif operation == "PutItem":
            self.items_written += 1
            answer = {}
        elif operation in ("GetItem", "UpdateItem", "DeleteItem"):
            answer = {}
        elif operation == "BatchGetItem":
            answer = {"Responses": {}, "UnprocessedKeys": {}}
        else:
            raise AssertionError(f"a full recompute was not expected to call {operation}")
        return _answer(request, json.dumps(answer).encode())
