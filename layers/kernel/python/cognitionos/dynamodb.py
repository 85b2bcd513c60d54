"""DynamoDB helpers shared by every data access layer: page tokens, plain values, conditions."""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from cognitionos.errors import BadRequest


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


def decode_page_token(token: str | None, must_match: dict[str, str]) -> dict[str, Any] | None:
    """The ``ExclusiveStartKey`` inside ``token``; it must belong to the same query.

    ``must_match`` holds the key attributes the query fixed (its partition key), so a token
    from another listing, or an edited one, is refused instead of paging somewhere else.
    """
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise BadRequest("next_token is not a token this API issued") from None
    if not isinstance(key, dict) or any(key.get(k) != v for k, v in must_match.items()):
        raise BadRequest("next_token belongs to a different listing")
    return key


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def query_all(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a query matches, page after page, as plain values."""
    items: list[dict[str, Any]] = []
    while True:
        page = table.query(**kwargs)
        items.extend(plain(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
