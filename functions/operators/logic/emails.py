"""An operator's email: one normal form, so that lookups do not depend on how it was typed."""

from __future__ import annotations

import re

from cognitionos.crypto import normalise

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_EMAIL = re.compile(EMAIL_PATTERN)


def normal_email(email: str) -> str:
    """``" Ada@Example.COM"`` -> ``"ada@example.com"``; ValueError if it is not an email."""
    normalised = normalise(email)
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalised):
        raise ValueError("the email must look like name@example.com")
    return normalised
