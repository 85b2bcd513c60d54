"""Every item of every table and every object of every bucket, as text to search.

The privacy functions that must find personal data wherever it could be (an erasure's
verification, the compliance checker) read it all: their topology entries get Scan on every
table and List/Get on every bucket (``scanning_every_table``, ``reading_every_bucket``), and
the names arrive as the ``<NAME>_TABLE`` and ``<NAME>_BUCKET`` variables, so a table added to
the topology is scanned without a change here.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

from cognitionos.aws import client

TABLE_SUFFIX = "_TABLE"
BUCKET_SUFFIX = "_BUCKET"
# Objects larger than this are read only up to it: exports and event bodies are far smaller.
MAX_OBJECT_BYTES = 16 * 1024 * 1024
_DESERIALIZE = TypeDeserializer().deserialize


@dataclass(frozen=True)
class StoredRecord:
    """One stored thing: ``store`` is ``table:<name>`` or ``bucket:<name>`` (the topology's
    names), ``key`` the item's key as JSON or the object's key, ``text`` all of it as text
    (an item as JSON, binary attributes in base64; an object's bytes decoded as UTF-8)."""

    store: str
    key: str
    text: str


def stores_from_environment(
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(tables, buckets): topology name -> physical name, from the function's variables."""
    env = os.environ if environ is None else environ
    return _named(env, TABLE_SUFFIX), _named(env, BUCKET_SUFFIX)


def _named(env: Mapping[str, str], suffix: str) -> dict[str, str]:
    return {
        name[: -len(suffix)].lower().replace("_", "-"): value
        for name, value in sorted(env.items())
        if name.endswith(suffix) and value
    }


class StoreScanner:
    """Reads every item and object of the given stores (topology name -> physical name)."""

    def __init__(self, tables: Mapping[str, str], buckets: Mapping[str, str]) -> None:
        self._tables = dict(tables)
        self._buckets = dict(buckets)

    def records(self) -> Iterator[StoredRecord]:
        """Every table's items, then every bucket's objects (each in its store's order)."""
        for name, physical in self._tables.items():
            yield from self.table_records(name, physical)
        for name, physical in self._buckets.items():
            yield from self.bucket_records(name, physical)

    def table_records(self, name: str, physical: str) -> Iterator[StoredRecord]:
        dynamodb = client("dynamodb")
        key_names = [k["AttributeName"] for k in _key_schema(dynamodb, physical)]
        for page in dynamodb.get_paginator("scan").paginate(TableName=physical):
            for raw in page.get("Items", []):
                item = {k: _DESERIALIZE(v) for k, v in raw.items()}
                key = json.dumps({k: item.get(k) for k in key_names}, default=_plain)
                yield StoredRecord(f"table:{name}", key, json.dumps(item, default=_plain))

    def bucket_records(self, name: str, physical: str) -> Iterator[StoredRecord]:
        s3 = client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=physical):
            for listed in page.get("Contents", []):
                key = listed["Key"]
                body = s3.get_object(
                    Bucket=physical, Key=key, Range=f"bytes=0-{MAX_OBJECT_BYTES - 1}"
                )
                data = body["Body"].read()
                yield StoredRecord(f"bucket:{name}", key, data.decode("utf-8", errors="replace"))


def _key_schema(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """The table's key attributes (``dynamodb:DescribeTable``, which scanning grants)."""
    return list(dynamodb.describe_table(TableName=table)["Table"]["KeySchema"])


def _plain(value: Any) -> Any:
    if isinstance(value, Binary):
        return base64.b64encode(bytes(value)).decode()  # type: ignore[call-overload]  # Binary has __bytes__
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set):
        return sorted(value, key=str)
    return str(value)  # Decimal and the rest
