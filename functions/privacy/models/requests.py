"""Bodies of the export and erasure routes (``/v1/privacy/exports``, ``/v1/privacy/erasures``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cognitionos.auth import TENANT_PATTERN

RequestStatus = Literal["pending", "completed", "failed"]
EXPORT_ID_PATTERN = r"^exp_[0-9a-f]{32}$"
ERASURE_ID_PATTERN = r"^era_[0-9a-f]{32}$"
CustomerId = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]
# Spelled out rather than \s: JSON Schema's regexes (ECMA-262) and Python's disagree on which
# Unicode characters \s matches (U+0085), and a fuzzer finds such a gap.
_ADDRESS_PART = r"[^@ \t\r\n\f\v<>,;]+"
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
EmailAddress = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254, pattern=EMAIL_PATTERN),
]
STATUS = (
    "`pending` until the worker has finished (see `phase`), then `completed` or `failed` "
    "(see `reason`)"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerSubject(Strict):
    customer_id: CustomerId = Field(
        description="The subject's Stripe customer id", examples=["cus_NffrFeUfNV2Hib"]
    )


class EmailSubject(Strict):
    email: EmailAddress = Field(
        description=(
            "The subject's email, as Stripe holds it (case and surrounding space do not "
            "matter): the worker finds the customer by its blind index; the request never "
            "stores the email itself"
        ),
        examples=["jenny.rosen@example.com"],
    )


Subject = CustomerSubject | EmailSubject


class SubjectRequestBody(Strict):
    subject: Subject = Field(
        description='Whose data: `{"customer_id": ...}` or `{"email": ...}`',
        examples=[{"customer_id": "cus_NffrFeUfNV2Hib"}],
    )


class ExportAccepted(Strict):
    request_id: str = Field(
        description="The export's id, for `GET /v1/privacy/exports/{request_id}`",
        examples=["exp_0f8fad5bd9cb469fa16570867728950e"],
    )
    status: RequestStatus = Field(
        description="`pending`: the worker builds it", examples=["pending"]
    )


class ErasureAccepted(Strict):
    request_id: str = Field(
        description="The erasure's id, for `GET /v1/privacy/erasures/{request_id}`",
        examples=["era_0f8fad5bd9cb469fa16570867728950e"],
    )


class ExportView(Strict):
    status: RequestStatus = Field(description=STATUS, examples=["completed"])
    download_url: str | None = Field(
        description=(
            "Once completed: a presigned HTTPS GET of the export (one JSON document: "
            "`subject`, `generated_at`, `data` by category, `processing`: the Article 15 "
            "information), valid until `expires_at`; each read of this route signs a new one "
            "while the object exists (7 days)"
        ),
        examples=[
            "https://cognitionos-privacy-exports.s3.amazonaws.com/exports/exp_0f8f.json?X-Amz-Signature=..."
        ],
    )
    expires_at: str | None = Field(
        description="When `download_url` stops working, ISO-8601 UTC",
        examples=["2026-12-03T15:00:00Z"],
    )
    phase: str | None = Field(
        description="While pending: `queued` or `collecting`", examples=[None]
    )
    reason: str | None = Field(
        description="Why it failed (no customer has this email, ...); never personal data",
        examples=[None],
    )
    records: int | None = Field(description="Records exported, all categories", examples=[42])


class Retained(Strict):
    category: str = Field(description="What is kept", examples=["invoices"])
    basis: str = Field(
        description="Why: the legal basis and what was done to it",
        examples=["tax and commercial record keeping (HGB §257, AO §147): pseudonymised"],
    )
    until: str | None = Field(
        description="Kept until (ISO-8601 UTC), enforced by a TTL or lifecycle rule; null: "
        "as long as the store exists (the audit log)",
        examples=["2036-12-31T23:59:59Z"],
    )
    count: int = Field(description="How many records", examples=[3])


class PendingExpiry(Strict):
    store: str = Field(
        description="A store the erasure cannot reach at once", examples=["queue:billing-events"]
    )
    until: str = Field(
        description="By when the subject's data there is gone, ISO-8601 UTC",
        examples=["2026-12-07T14:00:00Z"],
    )
    why: str = Field(
        description="Why it cannot be erased now",
        examples=["SQS deletes no message selectively; retention 4 days"],
    )


class Verification(Strict):
    scanned: int = Field(description="Items and objects scanned, every table and bucket")
    allowed: dict[str, int] = Field(
        description="Hits the design keeps, by reason (tombstone, audit log, ...)",
        examples=[{"audit log (immutable; ids only)": 12}],
    )
    leaks: list[str] = Field(
        description="Hits that should not be there, as `<store> <key>` (never the value); "
        "any makes the erasure `failed`",
        examples=[[]],
    )
    plaintext_checked: bool = Field(
        description="Whether the scan also looked for the email and name read before erasing "
        "(false only when a redelivered erasure ran after the key was gone)"
    )


class ErasureView(Strict):
    status: RequestStatus = Field(description=STATUS, examples=["completed"])
    erased: dict[str, int] = Field(
        description="Records deleted or crypto-shredded, by category",
        examples=[{"customer": 1, "subscriptions": 2, "agent_memory": 1}],
    )
    retained: list[Retained] = Field(description="What is kept, why and until when")
    pending_expiry: list[PendingExpiry] = Field(
        description="Copies the erasure cannot delete at once, and when each is gone"
    )
    phase: str | None = Field(
        description=(
            "While pending: `queued`, `erasing`, or `awaiting_key_cache_expiry` (the data is "
            "erased and verified; a warm function may still hold the data key in memory "
            "until the key-cache bound has passed since it was destroyed)"
        ),
        examples=[None],
    )
    reason: str | None = Field(description="Why it failed; never personal data", examples=[None])
    verification: Verification | None = Field(
        description="The scan of every table and bucket after erasing"
    )
    key_destroyed_at: str | None = Field(
        description="When the subject's data key was destroyed, ISO-8601 UTC"
    )
