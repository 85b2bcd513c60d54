"""POST/GET/DELETE /v1/api-keys: issue, list and revoke API keys (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.auth import ADMIN
from cognitionos.dynamodb import decode_page_token, encode_page_token
from cognitionos.errors import NotFound
from cognitionos.http import api_key_store, require_scope
from cognitionos.timeutil import iso, now
from platform_api.models.api_keys import ApiKeyView, CreateApiKeyRequest, CreatedApiKey

router = APIGatewayHttpRouter()
admin_only = require_scope(ADMIN)


@router.post("/v1/api-keys", middlewares=[admin_only], tags=["platform"])
def create_api_key(request: CreateApiKeyRequest) -> tuple[CreatedApiKey, int]:
    issued, view = api_key_store().create(
        request.name, request.scopes, request.tenant_id, created_at=iso(now())
    )
    return CreatedApiKey(**view, key=issued.key), 201


@router.get("/v1/api-keys", middlewares=[admin_only], tags=["platform"])
def list_api_keys(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    start = decode_page_token(next_token, {}, frozenset({"key_id"}))
    keys, last = api_key_store().list_keys(limit, start)
    return {"keys": keys, "next_token": encode_page_token(last)}


@router.delete("/v1/api-keys/<key_id>", middlewares=[admin_only], tags=["platform"])
def revoke_api_key(key_id: Annotated[str, Path(max_length=64)]) -> ApiKeyView:
    store = api_key_store()
    if not store.revoke(key_id, revoked_at=iso(now())):
        raise NotFound(f"no API key {key_id}")
    return ApiKeyView(**(store.get(key_id) or {}))
