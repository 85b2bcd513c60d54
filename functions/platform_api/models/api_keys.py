"""Request and response bodies of the API-key routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CreateApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=10)
    tenant_id: str | None = Field(default=None, max_length=70)


class ApiKeyView(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    tenant_id: str | None
    created_at: str
    revoked_at: str | None
    prefix: str


class CreatedApiKey(ApiKeyView):
    key: str = Field(description="The whole key. Shown once; only a keyed hash is stored.")
