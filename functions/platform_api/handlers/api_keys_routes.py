"""POST/GET/DELETE /v1/api-keys: issue, list and revoke API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.audit.store import audit_log
from cognitionos.auth import ADMIN, KEY_ID_PATTERN
from cognitionos.dynamodb import decode_page_token, encode_page_token
from cognitionos.errors import NotFound
from cognitionos.http import (
    INVALID,
    PAGE_EXAMPLES,
    UNAUTHORIZED,
    Limit,
    NextToken,
    api_key_store,
    current_principal,
    documented_responses,
    require_scope,
)
from cognitionos.timeutil import iso, now
from platform_api.models.api_keys import ApiKeyPage, ApiKeyView, CreateApiKeyRequest, CreatedApiKey

router = APIGatewayHttpRouter()
admin_only = require_scope(ADMIN, audit_denials=True)
ADMIN_ERRORS = {401: UNAUTHORIZED, 403: "The key lacks the `admin` scope"}
ADMIN_EXAMPLES = {403: "this API key lacks the 'admin' scope"}
UNKNOWN_PAGE = "`next_token` is not one this listing issued"


@router.post(
    "/v1/api-keys",
    middlewares=[admin_only],
    tags=["platform"],
    summary="Create an API key",
    description=(
        "Issues a key with the given scopes, bound to one Stripe customer or to none (an "
        "operator key). The answer holds the whole key, once: only a keyed hash of its "
        "secret is stored. A bound key cannot have `admin`. Needs `admin`."
    ),
    status_code=201,
    responses=documented_responses(
        "The key, with its secret in `key`",
        {
            **ADMIN_ERRORS,
            400: "The body is not JSON, or not UTF-8",
            415: "The body was not sent as `Content-Type: application/json`",
            422: INVALID + " (an unknown scope, an admin scope on a bound key, ...)",
        },
        status=201,
        examples={
            **ADMIN_EXAMPLES,
            422: "Value error, a tenant-bound key cannot have the admin scope",
        },
    ),
)
def create_api_key(request: CreateApiKeyRequest) -> CreatedApiKey:
    issued, view = api_key_store().create(
        request.name,
        request.scopes,
        request.tenant_id,
        created_at=iso(now()),
        audit=audit_log(),  # api_key.created, in the key's own transaction
        actor=current_principal(router).key_id,
    )
    return CreatedApiKey(**view, key=issued.key)


@router.get(
    "/v1/api-keys",
    middlewares=[admin_only],
    tags=["platform"],
    summary="List API keys",
    description=(
        "Every key, revoked ones included, without secrets; a page at a time. Needs `admin`."
    ),
    responses=documented_responses(
        "A page of keys",
        {**ADMIN_ERRORS, 400: UNKNOWN_PAGE, 422: INVALID},
        examples={**ADMIN_EXAMPLES, **PAGE_EXAMPLES},
    ),
)
def list_api_keys(limit: Limit = 50, next_token: NextToken = None) -> ApiKeyPage:
    start = decode_page_token(next_token, {}, frozenset({"key_id"}))
    keys, last = api_key_store().list_keys(limit, start)
    return ApiKeyPage(keys=[ApiKeyView(**key) for key in keys], next_token=encode_page_token(last))


@router.delete(
    "/v1/api-keys/<key_id>",
    middlewares=[admin_only],
    tags=["platform"],
    summary="Revoke an API key",
    description=(
        "Revokes the key at once: its next request is a 401. Revoking a revoked key changes "
        "nothing and answers it again. Needs `admin`."
    ),
    responses=documented_responses(
        "The key, with `revoked_at` set",
        {**ADMIN_ERRORS, 404: "No key has this id", 422: INVALID},
        examples={**ADMIN_EXAMPLES, 404: "no API key 4f9c2a7e1b3d5a60"},
    ),
)
def revoke_api_key(
    key_id: Annotated[
        str,
        Path(
            pattern=KEY_ID_PATTERN,
            description="The key's id (`key_id`, the part between `cos_` and the secret)",
            openapi_examples={"a key": {"value": "4f9c2a7e1b3d5a60"}},
        ),
    ],
) -> ApiKeyView:
    view = api_key_store().revoke(
        key_id,
        revoked_at=iso(now()),
        audit=audit_log(),  # api_key.revoked, in the revocation's own transaction, once
        actor=current_principal(router).key_id,
    )
    if view is None:
        raise NotFound(f"no API key {key_id}")
    return ApiKeyView(**view)
