"""Settings of the operator-auth function, validated once at cold start."""

from __future__ import annotations

import functools

from pydantic import Field

from cognitionos.settings import FunctionSettings, load_settings


class OperatorAuthSettings(FunctionSettings):
    operators_table: str
    operator_sessions_table: str
    audit_table: str
    audit_heads_table: str
    subject_keys_table: str
    pii_key_id: str
    pii_blind_index_key_secret_id: str
    cognition_operator_lockout_failures: int = Field(default=5, ge=1, le=100)


@functools.cache
def operator_auth_settings() -> OperatorAuthSettings:
    return load_settings(OperatorAuthSettings)
