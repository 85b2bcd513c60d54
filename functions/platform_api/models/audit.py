"""Response bodies of the audit routes (docs/API.md, "Audit")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STRICT = ConfigDict(extra="forbid")
HASH = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, hex")


class AuditEvent(BaseModel):
    model_config = STRICT
    event_id: str = Field(description="The entry's own id (a UUID)")
    seq: int = Field(ge=1, description="Its position in its chain, from 1, without gaps")
    time: str = Field(description="When it was recorded, ISO-8601 UTC")
    actor: str = Field(description="Who: an API key id, `stripe`, `system`, or `anonymous`")
    action: str = Field(description="What, one of the closed set in docs/AUDIT.md")
    resource: str = Field(description="On what: `<kind>:<id>`")
    tenant_id: str | None = Field(description="The tenant (Stripe customer); null: operators")
    details: dict[str, Any] = Field(
        description="Facts about the event; personal details are sealed and not shown here"
    )
    hash: str = HASH
    prev_hash: str = HASH


class AuditEventPage(BaseModel):
    model_config = STRICT
    events: list[AuditEvent] = Field(description="Newest first")
    next_token: str | None = Field(description="Pass back for the next page; null on the last")


class AuditVerification(BaseModel):
    model_config = STRICT
    valid: bool = Field(description="Every entry, the head and the anchors agree")
    checked: int = Field(ge=0, description="Entries that verified before the first problem")
    first_invalid_seq: int | None = Field(
        description="The first seq that is missing, altered or out of place; null when valid"
    )


class AuditAnchor(BaseModel):
    model_config = STRICT
    format: str
    chain: str
    seq: int
    hash: str = HASH
    anchored_at: str
    object_key: str = Field(description="Where S3 keeps it under Object Lock")
    version_id: str | None = Field(description="The object version")


class AuditHead(BaseModel):
    model_config = STRICT
    seq: int
    hash: str = HASH


class AuditExport(BaseModel):
    """A chain, or a part of it, with its anchors: what the offline verifier checks."""

    model_config = STRICT
    format: str = Field(description="`cognitionos-audit-export/1`")
    chain: str = Field(description="`tenant:<cus_...>` or `operators`")
    from_seq: int = Field(ge=1)
    prev_hash: str = Field(description="The hash before `from_seq` (zeros from seq 1)")
    complete: bool = Field(
        description="The entries run to the end of the chain as stored: checked against `head`"
    )
    head: AuditHead | None
    anchors: list[AuditAnchor] = Field(description="The anchors within these entries, from S3")
    entries: list[dict[str, Any]] = Field(description="Every field, as hashed, ciphertext too")
    next_from_seq: int | None = Field(description="Where the next part starts; null if none")
