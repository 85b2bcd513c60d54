"""Request and response bodies of the API-key and job routes (docs/API.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cognitionos.auth import ADMIN, KEY_ID_PATTERN, TENANT_PATTERN, Scope

KEY_ID = Field(
    pattern=KEY_ID_PATTERN,
    description="The key's id: the part between `cos_` and the secret",
    examples=["4f9c2a7e1b3d5a60"],
)
SCOPES = Field(
    min_length=1,
    max_length=10,
    description="What the key may do; `admin` implies every scope",
    examples=[["billing:read", "revenue:read"]],
)
TENANT_ID = Field(
    default=None,
    pattern=TENANT_PATTERN,
    description=(
        "The Stripe customer the key is bound to: it sees only that customer's data and can "
        "have neither `admin` nor revenue figures. Absent or null: an operator key."
    ),
    examples=["cus_NffrFeUfNV2Hib"],
)
TIME = "ISO-8601 UTC, to the second"


class CreateApiKeyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # The document says what the validator below says: a bound key has no admin scope.
        json_schema_extra={
            "if": {"properties": {"tenant_id": {"type": "string"}}, "required": ["tenant_id"]},
            "then": {"properties": {"scopes": {"items": {"not": {"const": ADMIN}}}}},
        },
    )

    name: str = Field(
        min_length=1,
        max_length=100,
        description="A name for people: who or what uses the key",
        examples=["nightly export"],
    )
    scopes: list[Scope] = SCOPES
    tenant_id: str | None = TENANT_ID

    @model_validator(mode="after")
    def _bound_keys_are_not_admin(self) -> CreateApiKeyRequest:
        if self.tenant_id is not None and ADMIN in self.scopes:
            raise ValueError("a tenant-bound key cannot have the admin scope")
        return self


class ApiKeyView(BaseModel):
    key_id: str = KEY_ID
    name: str = Field(description="The name it was created with", examples=["nightly export"])
    scopes: list[Scope] = SCOPES
    tenant_id: str | None = Field(
        description="The Stripe customer it is bound to; null for an operator key",
        examples=["cus_NffrFeUfNV2Hib"],
    )
    created_at: str = Field(
        description=f"When it was created, {TIME}", examples=["2025-03-01T09:30:00Z"]
    )
    revoked_at: str | None = Field(
        description=f"When it was revoked ({TIME}); null while it works",
        examples=[None],
    )
    prefix: str = Field(
        description="The start of the key, `cos_<key id>_`, to recognise it by",
        examples=["cos_4f9c2a7e1b3d5a60_"],
    )


class CreatedApiKey(ApiKeyView):
    key: str = Field(
        description="The whole key, `cos_<key id>_<secret>`. Shown once; only a keyed hash is "
        "stored, so a lost key cannot be shown again: revoke it and create another.",
        examples=["cos_4f9c2a7e1b3d5a60_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA"],
    )


NEXT_TOKEN_FIELD = Field(
    description="Pass it back as `next_token` for the next page; null on the last page",
    examples=[None],
)


class ApiKeyPage(BaseModel):
    keys: list[ApiKeyView] = Field(description="Keys, oldest first within the page")
    next_token: str | None = NEXT_TOKEN_FIELD


class JobRun(BaseModel):
    job: str = Field(description="The job that ran", examples=["revenue-rollup"])
    summary: Any = Field(
        description="What the job answered when it finished: its own counts and notes",
        examples=[{"records_read": 12, "customers_changed": 3}],
    )
