"""The consent API's request and response bodies (``/v1/privacy/consents``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from cognitionos.auth import TENANT_PATTERN
from privacy.logic.consents import (
    METHOD_MEANINGS,
    NOTICE_VERSION_PATTERN,
    PROOF_MAX_CHARS,
    PURPOSE_PATTERN,
    ConsentRecord,
    CurrentConsent,
    Method,
)

TIME_EXAMPLE = "2026-03-01T09:30:00.250000Z"
METHOD_DESCRIPTION = "How the subject said so: " + "; ".join(
    f"`{name}`: {meaning}" for name, meaning in METHOD_MEANINGS.items()
)
PURPOSE_DESCRIPTION = (
    "What the consent is for, as a short slug (lower case, digits, `_`; 2 to 64 characters, "
    "starting with a letter), e.g. `marketing_email`, `product_analytics`"
)
NOTICE_DESCRIPTION = (
    "The version of the privacy notice the subject was shown (1 to 64 characters: letters, "
    "digits, `.`, `_`, `:`, `-`)"
)
PROOF_DESCRIPTION = (
    "Optional free text that proves the consent (the form's URL, who took a call, a ticket "
    "number). Sealed with the subject's key at rest; null once the subject is erased"
)
TIME_DESCRIPTION = "When the API recorded it: ISO-8601 UTC, to the microsecond"


class ConsentSubject(BaseModel):
    """Whose consent: a Stripe customer."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(
        pattern=TENANT_PATTERN,
        description="The Stripe customer id of the person who consents",
        examples=["cus_NffrFeUfNV2Hib"],
    )


class RecordConsentBody(BaseModel):
    """A grant (`granted: true`) or a withdrawal (`granted: false`) of one purpose."""

    model_config = ConfigDict(extra="forbid")

    subject: ConsentSubject = Field(description="Whose consent")
    purpose: str = Field(
        pattern=PURPOSE_PATTERN, description=PURPOSE_DESCRIPTION, examples=["marketing_email"]
    )
    granted: StrictBool = Field(  # JSON true or false, not 0 or "yes"
        description="true: consent given; false: consent withdrawn (or refused)", examples=[True]
    )
    notice_version: str = Field(
        pattern=NOTICE_VERSION_PATTERN, description=NOTICE_DESCRIPTION, examples=["2026-01"]
    )
    method: Method = Field(description=METHOD_DESCRIPTION, examples=["web_form"])
    proof: str | None = Field(
        None,
        min_length=1,
        max_length=PROOF_MAX_CHARS,
        description=PROOF_DESCRIPTION,
        examples=["Signup form https://example.com/signup, box 'Send me product news'"],
    )

    def fingerprinted(self) -> dict[str, object]:
        """What a retry under the same Idempotency-Key must repeat."""
        return self.model_dump(mode="json")


class ConsentRecordView(BaseModel):
    """One stored record, as recorded."""

    consent_id: str = Field(
        description="The record's id", examples=["con_0f8fad5bd9cb469fa16570867728950e"]
    )
    subject: ConsentSubject = Field(description="Whose consent")
    purpose: str = Field(description=PURPOSE_DESCRIPTION, examples=["marketing_email"])
    granted: bool = Field(description="Given (true) or withdrawn (false)", examples=[True])
    notice_version: str = Field(description=NOTICE_DESCRIPTION, examples=["2026-01"])
    method: Method = Field(description=METHOD_DESCRIPTION, examples=["web_form"])
    time: str = Field(description=TIME_DESCRIPTION, examples=[TIME_EXAMPLE])
    proof: str | None = Field(description=PROOF_DESCRIPTION, examples=[None])

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentRecordView:
        return cls(
            consent_id=record.consent_id,
            subject=ConsentSubject(customer_id=record.customer_id),
            purpose=record.purpose,
            granted=record.granted,
            notice_version=record.notice_version,
            method=record.method,  # type: ignore[arg-type]  # stored from a Method
            time=record.time,
            proof=record.proof,
        )


class CurrentConsentView(BaseModel):
    """A purpose's latest record."""

    granted: bool = Field(description="Consent given now (true) or not (false)", examples=[True])
    notice_version: str = Field(description=NOTICE_DESCRIPTION, examples=["2026-01"])
    time: str = Field(description="When that latest record was made", examples=[TIME_EXAMPLE])

    @classmethod
    def of(cls, current: CurrentConsent) -> CurrentConsentView:
        return cls(
            granted=current.granted, notice_version=current.notice_version, time=current.time
        )


class ConsentHistoryEntry(BaseModel):
    """One record of the history."""

    consent_id: str = Field(
        description="The record's id", examples=["con_0f8fad5bd9cb469fa16570867728950e"]
    )
    purpose: str = Field(description=PURPOSE_DESCRIPTION, examples=["marketing_email"])
    granted: bool = Field(description="Given (true) or withdrawn (false)", examples=[True])
    notice_version: str = Field(description=NOTICE_DESCRIPTION, examples=["2026-01"])
    method: Method = Field(description=METHOD_DESCRIPTION, examples=["web_form"])
    time: str = Field(description=TIME_DESCRIPTION, examples=[TIME_EXAMPLE])
    proof: str | None = Field(description=PROOF_DESCRIPTION, examples=[None])

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentHistoryEntry:
        return cls(
            consent_id=record.consent_id,
            purpose=record.purpose,
            granted=record.granted,
            notice_version=record.notice_version,
            method=record.method,  # type: ignore[arg-type]  # stored from a Method
            time=record.time,
            proof=record.proof,
        )


class ConsentsView(BaseModel):
    """A subject's consents: what holds now, and every record that led there."""

    subject: ConsentSubject = Field(description="Whose consents")
    current: dict[str, CurrentConsentView] = Field(
        description="Per purpose, its latest record (absent: never asked)",
        examples=[
            {
                "marketing_email": {
                    "granted": False,
                    "notice_version": "2026-01",
                    "time": TIME_EXAMPLE,
                }
            }
        ],
    )
    history: list[ConsentHistoryEntry] = Field(
        description="Every record, oldest first; empty when none was ever recorded"
    )
