"""DynamoDB helpers shared by every data access layer: page tokens, plain values, conditions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from cognitionos.errors import BadRequest

UNKNOWN_PAGE = "next_token is not a token this API issued"


def plain(value: Any) -> Any:
    """An item as plain JSON values: ``Decimal`` becomes ``int`` (or ``float`` if fractional)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def encode_page_token(last_evaluated_key: dict[str, Any] | None) -> str | None:
    """An opaque ``next_token`` for the API, or None on the last page."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(plain(last_evaluated_key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(
    token: str | None, must_match: dict[str, str], key_attributes: frozenset[str]
) -> dict[str, Any] | None:
    """The ``ExclusiveStartKey`` inside ``token``; it must belong to the same query.

    The key must name exactly ``key_attributes`` (the table's and the index's keys, all
    strings here) and hold ``must_match``, the key attributes the query fixed (its partition
    key): a token from another listing, or an edited one, is refused (400) instead of paging
    somewhere else or failing in DynamoDB.
    """
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise BadRequest(UNKNOWN_PAGE) from None
    if (
        not isinstance(key, dict)
        or set(key) != key_attributes
        or not all(isinstance(value, str) and value for value in key.values())
    ):
        raise BadRequest(UNKNOWN_PAGE)
    if any(key[k] != v for k, v in must_match.items()):
        raise BadRequest("next_token belongs to a different listing")
    return key


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def all_items(operation: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a ``table.query`` or ``table.scan`` matches, page after page, as plain
    values, read lazily."""
    while True:
        page = operation(**kwargs)
        yield from (plain(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def put_unless_exists(
    table: Any, item: dict[str, Any], key_attribute: str
) -> dict[str, Any] | None:
    """Put ``item`` unless an item with its key exists, in one write; the stored item (plain
    values) if there was one, as the failed condition returns it."""
    try:
        table.put_item(
            Item=item,
            ConditionExpression=f"attribute_not_exists({key_attribute})",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        wire: dict[str, Any] = exc.response.get("Item", {})  # type: ignore[assignment]
        deserializer = TypeDeserializer()
        return {k: plain(deserializer.deserialize(v)) for k, v in wire.items()}
    return None
