"""API-key authentication and authorization (docs/API.md, "Keys and scopes").

A key reads ``cos_<key id>_<secret>``. Only ``HMAC-SHA256(pepper, secret)`` is stored; the
pepper lives in Secrets Manager, so a leaked table alone cannot be brute-forced. Every
request reads the key item with a consistent read, so revocation takes effect at once.

Rotating the pepper (docs/SECURITY.md, "Rotating the API-key pepper"): each key records
``pepper_id``, a fingerprint of the pepper that hashed it. A new pepper becomes the secret's
``AWSCURRENT`` version and the old one its ``AWSPREVIOUS``; new keys are hashed with the
current pepper, and a key hashed with the previous one still authenticates until the
operator ends the grace period by moving ``AWSPREVIOUS`` off it. Keys made before peppers
had fingerprints carry none: they are checked against the current pepper, then the previous.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from cognitionos.errors import Forbidden, Unauthorized, Unprocessable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from cognitionos.audit.store import AuditLog

ADMIN = "admin"
Scope = Literal[
    "admin",
    "billing:read",
    "revenue:read",
    "agents:run",
    "alerts:manage",
    "audit:read",
    "privacy:manage",
]
SCOPES: frozenset[str] = frozenset(get_args(Scope))
KEY_PREFIX = "cos_"
KEY_ID_PATTERN = r"^[a-z0-9]{16}$"
TENANT_PATTERN = r"^cus_[A-Za-z0-9]{1,64}$"
_KEY_PATTERN = re.compile(r"^cos_(?P<key_id>[a-z0-9]{16})_(?P<secret>[A-Za-z0-9_-]{32,128})$")
_TENANT_PATTERN = re.compile(TENANT_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an operator key (``tenant_id`` None) or a key bound to one customer.

    A signed-in operator's dashboard session is an operator key too: ``key_id`` is then the
    operator's id (``op_...``) and the scopes are ``admin``.
    """

    key_id: str
    scopes: frozenset[str]
    tenant_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes

    def require_scope(self, scope: str) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")

    def can_see_tenant(self, tenant_id: str | None) -> bool:
        """Operator keys see every tenant; a bound key sees only its own."""
        return self.tenant_id is None or self.tenant_id == tenant_id


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    key: str  # shown once, never stored


def hash_secret(pepper: str, secret: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def pepper_id(pepper: str) -> str:
    """Which pepper hashed a key: an HMAC keyed with the pepper itself, so it says nothing
    about the pepper, only whether two are the same."""
    return hmac.new(pepper.encode(), b"cognitionos api-key pepper id", hashlib.sha256).hexdigest()[
        :16
    ]


def new_api_key() -> str:
    """A fresh key in the only format there is: ``cos_<16 hex>_<43 URL-safe characters>``."""
    return f"{KEY_PREFIX}{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def parse_api_key(raw: str) -> tuple[str, str]:
    """``(key id, secret)`` of a well-formed key, else Unauthorized."""
    match = _KEY_PATTERN.match(raw)
    if not match:
        raise Unauthorized("the API key is malformed; expected cos_<key id>_<secret>")
    return match["key_id"], match["secret"]


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    return token.strip()


def validate_grant(scopes: Iterable[str], tenant_id: str | None) -> frozenset[str]:
    """Check requested scopes and tenant binding before a key is created."""
    wanted = frozenset(scopes)
    if not wanted:
        raise Unprocessable("scopes must name at least one scope")
    unknown = sorted(wanted - SCOPES)
    if unknown:
        raise Unprocessable(f"unknown scopes {unknown}; known: {sorted(SCOPES)}")
    if tenant_id is not None and not _TENANT_PATTERN.match(tenant_id):
        raise Unprocessable("tenant_id must be a Stripe customer id (cus_...)")
    if tenant_id is not None and ADMIN in wanted:
        raise Unprocessable("a tenant-bound key cannot have the admin scope")
    return wanted


class ApiKeyStore:
    """The API-key table: create, list, revoke and authenticate keys.

    ``pepper`` hashes new keys and checks keys it hashed. ``other_pepper(pepper_id)`` is asked
    only for a key that ``pepper`` did not hash: it answers the pepper of that id (the
    previous one during a grace period, or a newer one this environment has not seen yet),
    or for a key without an id the previous pepper; None when there is no such pepper.
    """

    def __init__(
        self,
        table: Table,
        pepper: str,
        other_pepper: Callable[[str | None], str | None] | None = None,
    ) -> None:
        self._table = table
        self._pepper = pepper
        self._pepper_id = pepper_id(pepper)
        self._other_pepper = other_pepper or (lambda _: None)

    def create(
        self,
        name: str,
        scopes: Iterable[str],
        tenant_id: str | None,
        created_at: str,
        raw_key: str | None = None,
        *,
        audit: AuditLog | None = None,
        actor: str = "",
    ) -> tuple[IssuedKey, dict[str, Any]]:
        """Store a new key (or a given ``raw_key``, for bootstrapping) and return it once;
        with ``audit``, its ``api_key.created`` entry in the same transaction, so a key
        never exists without it."""
        granted = validate_grant(scopes, tenant_id)
        raw_key = new_api_key() if raw_key is None else raw_key
        key_id, secret = parse_api_key(raw_key)
        item: dict[str, Any] = {
            "key_id": key_id,
            "name": name,
            "scopes": sorted(granted),
            "tenant_id": tenant_id,
            "secret_hash": hash_secret(self._pepper, secret),
            "pepper_id": self._pepper_id,
            "created_at": created_at,
            # no revoked_at until revocation: if_not_exists() treats a stored NULL as present
        }
        condition = "attribute_not_exists(key_id)"
        if audit is None:
            self._table.put_item(Item=item, ConditionExpression=condition)
        else:
            put = {"TableName": self._table.name, "Item": item, "ConditionExpression": condition}
            draft = audit.draft(
                "api_key.created",
                actor=actor,
                resource=f"api_key:{key_id}",
                tenant_id=tenant_id,
                details={"scopes": sorted(granted)},
            )
            if audit.commit_with([{"Put": put}], [draft]) is not None:
                raise Unprocessable(f"an API key with id {key_id} exists already")
        return IssuedKey(key_id=key_id, key=raw_key), public_view(item)

    def authenticate(self, raw_key: str) -> Principal:
        key_id, secret = parse_api_key(raw_key)
        item = self._table.get_item(Key={"key_id": key_id}, ConsistentRead=True).get("Item")
        if not item or not self._secret_matches(item, secret):
            raise Unauthorized("unknown API key")
        if item.get("revoked_at"):
            raise Unauthorized("this API key has been revoked")
        tenant = item.get("tenant_id")
        return Principal(
            key_id=key_id,
            scopes=frozenset(str(s) for s in item.get("scopes", [])),  # type: ignore[union-attr]
            tenant_id=str(tenant) if tenant else None,
        )

    def _secret_matches(self, item: dict[str, Any], secret: str) -> bool:
        stored = str(item.get("secret_hash", ""))
        hashed_by = item.get("pepper_id")
        if hashed_by is None or hashed_by == self._pepper_id:
            if hmac.compare_digest(hash_secret(self._pepper, secret), stored):
                return True
            if hashed_by is not None:
                return False
        other = self._other_pepper(None if hashed_by is None else str(hashed_by))
        if other is None or (hashed_by is not None and pepper_id(other) != hashed_by):
            return False
        return hmac.compare_digest(hash_secret(other, secret), stored)

    def list_keys(
        self, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {"Limit": limit}
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self._table.scan(**kwargs)
        items = sorted(
            (public_view(i) for i in page.get("Items", [])), key=lambda k: k["created_at"]
        )
        return items, page.get("LastEvaluatedKey")

    def get(self, key_id: str) -> dict[str, Any] | None:
        """A key's public view, or None."""
        item = self._table.get_item(Key={"key_id": key_id}, ConsistentRead=True).get("Item")
        return public_view(item) if item else None

    def revoke(
        self, key_id: str, revoked_at: str, *, audit: AuditLog | None = None, actor: str = ""
    ) -> dict[str, Any] | None:
        """Mark the key revoked, with its ``api_key.revoked`` entry in the same transaction;
        the key's view after, or None if there is no such key. A key revoked already
        changes nothing and records nothing again (only the request whose update wins)."""
        for _ in range(3):  # a key revoked or created while this ran is read again
            view = self.get(key_id)
            if view is None or view.get("revoked_at"):
                return view
            update = {
                "TableName": self._table.name,
                "Key": {"key_id": key_id},
                "UpdateExpression": "SET revoked_at = :now",
                "ConditionExpression": (
                    "attribute_exists(key_id) AND attribute_not_exists(revoked_at)"
                ),
                "ExpressionAttributeValues": {":now": revoked_at},
            }
            if audit is None:
                try:
                    self._table.meta.client.update_item(**update)  # type: ignore[arg-type]
                except self._table.meta.client.exceptions.ConditionalCheckFailedException:
                    continue
            else:
                draft = audit.draft(
                    "api_key.revoked",
                    actor=actor,
                    resource=f"api_key:{key_id}",
                    tenant_id=view.get("tenant_id"),
                    details={"revoked_at": revoked_at},
                )
                if audit.commit_with([{"Update": update}], [draft]) is not None:
                    continue
            return {**view, "revoked_at": revoked_at}
        return self.get(key_id)


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """A key as the API shows it: everything but the hash."""
    return {
        "key_id": item["key_id"],
        "name": item["name"],
        "scopes": list(item["scopes"]),
        "tenant_id": item.get("tenant_id"),
        "created_at": item["created_at"],
        "revoked_at": item.get("revoked_at"),
        "prefix": f"{KEY_PREFIX}{item['key_id']}_",
    }
