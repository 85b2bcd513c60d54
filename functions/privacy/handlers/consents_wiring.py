"""The consent routes' doors, built once per execution environment from the API's settings."""

from __future__ import annotations

import functools

from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import blind_index_key, subject_keyring
from privacy.dal.consents import ConsentStore
from privacy.settings import api_settings


@functools.cache
def consent_store() -> ConsentStore:
    return ConsentStore(
        dynamodb_table(api_settings().privacy_table), subject_keyring(), audit_log()
    )


def idempotency_secret() -> bytes:
    """The keyed-MAC secret of Idempotency-Key digests and request fingerprints: the blind
    index key (cached five minutes by Parameters), which this function already holds."""
    return blind_index_key()
