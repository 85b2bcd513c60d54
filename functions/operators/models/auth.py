"""Bodies of the sign-in routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from operators.logic.emails import MAX_EMAIL_LENGTH
from operators.logic.passwords import MAX_PASSWORD_LENGTH


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        min_length=3,
        max_length=MAX_EMAIL_LENGTH,
        pattern=r"^\s*[^@\s]+@[^@\s]+\s*$",
        description="The operator's email; case and surrounding spaces do not matter",
        examples=["ada@example.com"],
    )
    password: str = Field(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description="The operator's password",
        examples=["correct horse battery staple"],
    )


class OperatorView(BaseModel):
    operator_id: str = Field(
        pattern=r"^op_[a-f0-9]{16}$",
        description="The operator's id: the actor of its audit entries",
        examples=["op_4f9c2a7e1b3d5a60"],
    )
    email: str = Field(description="The operator's email, normalised", examples=["ada@example.com"])


class SessionView(BaseModel):
    operator: OperatorView
    csrf_token: str = Field(
        description=(
            "Send it as the `X-CSRF-Token` header with every POST, PUT, PATCH and DELETE that "
            "the session cookie authenticates, sign-out included"
        ),
        examples=["pY8lq1f2b0d0Zr0mQjv2iWm2n3x5Kq7tYw4u9s6a1cE"],
    )
    expires_at: str = Field(
        description=(
            "When the session ends at the latest (8 h after sign-in); 30 minutes without a "
            "request end it sooner"
        ),
        examples=["2025-03-01T08:00:00Z"],
    )


class SignedOut(BaseModel):
    signed_out: bool = Field(description="Always true: the session has ended", examples=[True])
