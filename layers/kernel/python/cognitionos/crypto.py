"""Personal data at rest: per-subject envelope encryption, crypto-shredding, blind indexes.

Each subject (a Stripe customer id, say) gets its own AES-256 data key, created on first
use by one KMS ``GenerateDataKey`` and stored only wrapped by the PII KMS key, in the
``subject-keys`` table. Each field is sealed with AES-256-GCM under that data key; the
associated data binds the subject and the field name, so a token copied onto another
subject or field does not decrypt. Erasing a subject destroys its wrapped key: every token
of that subject, wherever it was copied, becomes unreadable (crypto-shredding): at once in
the environment that destroyed it, and in every other warm environment within the key-cache
bound (``COGNITION_KEY_CACHE_MAX_AGE_S``, default 300 s), after which a cached key is dropped
and the next load meets the tombstone. No environment is told of the erasure; the bound is
the guarantee, and the privacy worker reports an erasure completed only once it has passed.

Usage, in a function whose topology entry says ``pii="write"`` (or ``"read"``)::

    from cognitionos.crypto import blind_index, blind_index_key, subject_keyring

    keyring = subject_keyring()                             # once per execution environment
    token = keyring.encrypt("cus_123", "email", "ada@example.com")  # "v1.<base64url>"
    keyring.decrypt("cus_123", "email", token)              # "ada@example.com"
    email_index = blind_index("Ada@Example.com", blind_index_key())  # equality lookups
    keyring.destroy("cus_123")                              # erasure: decrypt now raises
                                                            # SubjectErased, encrypt too

Nothing here logs, and no exception message carries, a plaintext, a token or a key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field

from cognitionos.aws import client, dynamodb_table
from cognitionos.dynamodb import is_condition_failure
from cognitionos.errors import DomainError
from cognitionos.settings import FunctionSettings, load_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms.client import KMSClient

FORMAT_VERSION = "v1"
NONCE_BYTES = 12  # the GCM standard nonce; random per encryption
TAG_BYTES = 16
CACHE_SIZE = 256  # unwrapped data keys kept per execution environment
# How long another warm environment may still use a cached key after an erasure: the default
# of the COGNITION_KEY_CACHE_MAX_AGE_S setting, which every function handling personal data
# gets. This is the bound that makes an erasure final: a warm Lambda that unwrapped the key
# before it was destroyed decrypts with it for at most this long (the cache forgets it then,
# and the next load finds the tombstone), so the privacy worker reports an erasure
# ``completed`` only once this long has passed since it destroyed the key.
CACHE_MAX_AGE_S = 300.0
SECRET_MAX_AGE_S = 300
CONTEXT_KEY = "subject_id"  # the KMS encryption context; IAM allows no other key


class SubjectErased(DomainError):
    """The subject's data key is gone (erased): its personal data can never be read again.

    Raised by ``decrypt`` for any token of the subject, and by ``encrypt``, so a late event
    cannot bring an erased subject's personal data back. Callers that show a record render
    the field as absent; writers store the record without the field.
    """

    status_code = 410

    def __init__(self, subject_id: str) -> None:
        super().__init__("this subject's personal data has been erased")
        self.subject_id = subject_id


class UnknownWrappingKey(RuntimeError):
    """A subject's data key is wrapped by a KMS key this deployment does not hold: an
    operator started a second rotation before the first finished (docs/SECURITY.md)."""


class InvalidToken(ValueError):
    """A token that is malformed, was altered, or was made for another subject or field."""


class SubjectKeyring:
    """Encrypts and decrypts one subject's fields with that subject's data key.

    ``table``: the ``subject-keys`` table (partition key ``subject_id``). ``kms_key_id``:
    the current PII key (its ARN), which wraps every new data key. ``previous_kms_key_id``:
    during a rotation of the PII key, the key that wrapped data keys before (its ARN); a
    data key is unwrapped with the key its item names, which must be one of the two, so
    data written before the rotation stays readable while the ``pii-key-rotation`` job
    re-wraps it. Unwrapped keys are cached in process
    (LRU of ``cache_size``, each for ``cache_max_age_s``), so a warm function makes at most
    one KMS Decrypt per subject per ``cache_max_age_s``. Not thread-safe: one per
    execution environment (``subject_keyring()``).
    """

    def __init__(
        self,
        table: Table,
        kms_key_id: str,
        kms_client: KMSClient | None = None,
        *,
        previous_kms_key_id: str | None = None,
        cache_size: int = CACHE_SIZE,
        cache_max_age_s: float = CACHE_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._kms_key_id = kms_key_id
        self._readable_keys = frozenset(filter(None, (kms_key_id, previous_kms_key_id)))
        self._kms: KMSClient = kms_client or client("kms")
        self._cache = _KeyCache(cache_size, cache_max_age_s, clock)

    def encrypt(self, subject_id: str, field: str, plaintext: str) -> str:
        """``plaintext`` sealed for this subject and field: ``"v1.<base64url(nonce|ct)>"``.

        The first encryption for a subject creates its data key. Raises SubjectErased if
        the subject was erased.
        """
        _require_name("subject_id", subject_id)
        _require_name("field", field)
        if not isinstance(plaintext, str):
            raise TypeError(f"the {field!r} value to encrypt must be a str")
        key = self._cache.get(subject_id) or self._load(subject_id) or self._create(subject_id)
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.encrypt(nonce, plaintext.encode(), _associated_data(subject_id, field))
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT_VERSION}.{encoded}"

    def decrypt(self, subject_id: str, field: str, token: str) -> str:
        """The plaintext sealed in ``token`` for this subject and field.

        Raises InvalidToken if the token is malformed, altered or not this subject's and
        field's; SubjectErased if the subject was erased (or never had a key).
        """
        _require_name("subject_id", subject_id)
        _require_name("field", field)
        blob = _parse(token)
        key = self._cache.get(subject_id) or self._load(subject_id)
        if key is None:
            raise SubjectErased(subject_id)
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            plain = key.decrypt(nonce, sealed, _associated_data(subject_id, field))
        except InvalidTag:
            raise InvalidToken(
                f"the {field!r} token was altered or was not made for this subject and field"
            ) from None
        return plain.decode()

    def destroy(self, subject_id: str) -> None:
        """Erase the subject: replace its wrapped key with a tombstone (crypto-shredding).

        Idempotent. Every token of the subject becomes unreadable here at once, and in
        other warm environments once their cached key expires (``cache_max_age_s``); the
        tombstone stops a later ``encrypt`` from creating a fresh key for the subject.
        """
        _require_name("subject_id", subject_id)
        self._table.put_item(Item={"subject_id": subject_id, "erased": True})
        self._cache.discard(subject_id)

    def _load(self, subject_id: str) -> AESGCM | None:
        """The subject's stored key, unwrapped and cached; None if it has none yet."""
        item = self._table.get_item(Key={"subject_id": subject_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        if item.get("erased"):
            raise SubjectErased(subject_id)
        unwrapped = self._kms.decrypt(
            CiphertextBlob=bytes(item["wrapped_key"]),  # type: ignore[arg-type]  # a Binary
            KeyId=self._wrapping_key(item),
            EncryptionContext={CONTEXT_KEY: subject_id},
        )
        return self._cache.put(subject_id, unwrapped["Plaintext"])

    def _wrapping_key(self, item: dict[str, Any]) -> str:
        """The key that wrapped the item's data key: the current PII key or, during a
        rotation, the previous one. KMS would refuse any other, so say so plainly."""
        wrapped_by = str(item.get("kms_key_id") or self._kms_key_id)
        if wrapped_by not in self._readable_keys:
            raise UnknownWrappingKey(
                "a data key is wrapped by a KMS key that is neither the current nor the "
                "previous PII key: finish or redo the key rotation (PII_PREVIOUS_KEY_ID)"
            )
        return wrapped_by

    def _create(self, subject_id: str) -> AESGCM:
        """A new data key for the subject; if another writer stored one first, theirs."""
        generated = self._kms.generate_data_key(
            KeyId=self._kms_key_id,
            KeySpec="AES_256",
            EncryptionContext={CONTEXT_KEY: subject_id},
        )
        try:
            self._table.put_item(
                Item={
                    "subject_id": subject_id,
                    "wrapped_key": generated["CiphertextBlob"],
                    "kms_key_id": generated["KeyId"],
                    "scheme": f"AES-256-GCM/{FORMAT_VERSION}",
                },
                ConditionExpression="attribute_not_exists(subject_id)",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            winner = self._load(subject_id)  # lost a race: read the key that won
            if winner is None:  # the winner's item vanished: only an operator deletes items
                raise SubjectErased(subject_id) from None
            return winner
        return self._cache.put(subject_id, generated["Plaintext"])


class _KeyCache:
    """Bounded LRU of unwrapped data keys, each kept at most ``max_age_s``."""

    def __init__(self, size: int, max_age_s: float, clock: Callable[[], float]) -> None:
        self._size = size
        self._max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, AESGCM]] = OrderedDict()

    def get(self, subject_id: str) -> AESGCM | None:
        entry = self._entries.get(subject_id)
        if entry is None:
            return None
        stored_at, key = entry
        if self._clock() - stored_at > self._max_age_s:
            del self._entries[subject_id]
            return None
        self._entries.move_to_end(subject_id)
        return key

    def put(self, subject_id: str, data_key: bytes) -> AESGCM:
        key = AESGCM(data_key)
        self._entries[subject_id] = (self._clock(), key)
        self._entries.move_to_end(subject_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return key

    def discard(self, subject_id: str) -> None:
        self._entries.pop(subject_id, None)


def _require_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")


def _associated_data(subject_id: str, field: str) -> bytes:
    # JSON, not a join: no subject/field pair can be spelled like another.
    return json.dumps(["cognitionos-pii", FORMAT_VERSION, subject_id, field]).encode()


def _parse(token: str) -> bytes:
    version, dot, encoded = token.partition(".") if isinstance(token, str) else ("", "", "")
    if not dot or version != FORMAT_VERSION:
        raise InvalidToken(f"not a personal-data token (expected '{FORMAT_VERSION}.<base64url>')")
    try:
        blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error):
        raise InvalidToken("the personal-data token is not valid base64url") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise InvalidToken("the personal-data token is too short to hold a sealed value")
    return blob


def normalise(value: str) -> str:
    """The form blind indexes are computed on: NFKC, surrounding space stripped, casefolded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def blind_index(value: str, key: bytes) -> str:
    """Keyed HMAC-SHA256 (hex) of ``normalise(value)``: equality lookups without plaintext.

    ``"Ada@Example.com "`` and ``"ada@example.com"`` index alike. Without ``key`` (the
    ``pii-blind-index-key`` secret, ``blind_index_key()``) an index cannot be recomputed
    from a guessed value.
    """
    if not key:
        raise ValueError("a blind index needs a non-empty key")
    normalised = normalise(value)
    if not normalised:
        raise ValueError("cannot index an empty value")
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


class PersonalDataSettings(FunctionSettings):
    """What a function declared ``pii="read"`` or ``"write"`` gets from the topology."""

    pii_key_id: str
    subject_keys_table: str
    # During a rotation of the PII key only: the key that wrapped data keys before.
    pii_previous_key_id: str | None = None
    # Only for functions declared ``pii_lookups=True``: no other function may read the key.
    pii_blind_index_key_secret_id: str | None = None
    # The key-cache bound (topology KEY_CACHE_MAX_AGE): seconds an unwrapped key is reused.
    cognition_key_cache_max_age_s: float = Field(default=CACHE_MAX_AGE_S, gt=0, le=900)


@functools.cache
def _settings() -> PersonalDataSettings:
    return load_settings(PersonalDataSettings)


@functools.cache
def subject_keyring() -> SubjectKeyring:
    """The execution environment's keyring, built once from ``PersonalDataSettings``."""
    settings = _settings()
    return SubjectKeyring(
        dynamodb_table(settings.subject_keys_table),
        settings.pii_key_id,
        previous_kms_key_id=settings.pii_previous_key_id or None,
        cache_max_age_s=settings.cognition_key_cache_max_age_s,
    )


def key_cache_max_age_s() -> float:
    """The key-cache bound this environment's keyring honours (an erasure waits it out)."""
    return _settings().cognition_key_cache_max_age_s


def blind_index_key() -> bytes:
    """The blind-index HMAC key, from Secrets Manager (cached five minutes by Parameters)."""
    secret_id = _settings().pii_blind_index_key_secret_id
    if secret_id is None:
        raise RuntimeError(
            "PII_BLIND_INDEX_KEY_SECRET_ID is not set: declare pii_lookups=True on the function"
        )
    secret: Any = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_S)
    return str(secret).encode()


def reset_caches() -> None:
    """Forget settings and the keyring (tests that start a new moto backend call this)."""
    _settings.cache_clear()
    subject_keyring.cache_clear()
