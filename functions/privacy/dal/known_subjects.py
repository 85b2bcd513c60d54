"""The names of known subjects, to look for in plaintext wherever else they could be.

Billing stores each Stripe customer's name sealed (``name_enc``) under the customer's data
key, the subject being the customer id (``customer_id``, or ``object_id`` for the customer
itself). The checker unwraps them in memory only: a name is never logged, stored or
reported, only matched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from cognitionos.aws import client
from cognitionos.crypto import InvalidToken, SubjectErased

NAME_FIELD = "name"


class FieldDecryptor(Protocol):
    def decrypt(self, subject_id: str, field: str, token: str) -> str: ...


def sealed_names(physical_table: str) -> Iterator[tuple[str, str]]:
    """(subject id, sealed name) of every item that carries one (``dynamodb:Scan``)."""
    pages = (
        client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=physical_table,
            FilterExpression="attribute_exists(#sealed)",
            ProjectionExpression="#sealed, customer_id, object_id",
            ExpressionAttributeNames={"#sealed": f"{NAME_FIELD}_enc"},
        )
    )
    for page in pages:
        for item in page.get("Items", []):
            subject = _string(item, "customer_id") or _string(item, "object_id")
            token = _string(item, f"{NAME_FIELD}_enc")
            if subject and token:
                yield subject, token


def known_names(physical_table: str, keyring: FieldDecryptor) -> list[str]:
    """Every subject's name that can still be read (an erased subject's cannot: skipped)."""
    names = []
    for subject, token in sealed_names(physical_table):
        try:
            names.append(keyring.decrypt(subject, NAME_FIELD, token))
        except (SubjectErased, InvalidToken):
            continue
    return names


def _string(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {})
    return value.get("S") if isinstance(value, dict) else None
