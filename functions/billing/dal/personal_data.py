"""Reading back the personal fields billing stores encrypted (``<field>_enc``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from cognitionos.crypto import SubjectErased


class FieldDecryptor(Protocol):
    def decrypt(self, subject_id: str, field: str, token: str) -> str: ...


def personal_field(
    item: Mapping[str, Any], subject_id: str, field: str, keyring: FieldDecryptor
) -> str | None:
    """The plaintext of ``field`` on a stored item; None when it has none or the subject
    was erased (GDPR: the key is gone, and so is the value)."""
    token = item.get(f"{field}_enc")
    if not token:
        return None
    try:
        return keyring.decrypt(subject_id, field, str(token))
    except SubjectErased:
        return None
