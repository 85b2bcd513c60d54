"""Personal data under moto: per-subject envelope encryption, erasure, caching, races."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest

from infra import topology
from tests.aws_calls import count_aws_calls
from tests.integration.conftest import REGION, Aws

EMAIL = "ada.lovelace@example.com"


def keyring(aws: Aws, **kwargs: Any) -> Any:
    """A keyring as a new execution environment would build it (cold cache)."""
    from cognitionos.aws import dynamodb_table
    from cognitionos.crypto import SubjectKeyring

    table = dynamodb_table(aws.env[topology.SUBJECT_KEYS_TABLE.env_var])
    return SubjectKeyring(table, aws.env[topology.PII_KEY.env_var], **kwargs)


def stored_items(aws: Aws) -> list[dict[str, Any]]:
    return list(aws.table("subject-keys").scan()["Items"])


def flip_last_byte(token: str) -> str:
    version, encoded = token.split(".")
    blob = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    blob[-1] ^= 0x01
    return f"{version}.{base64.urlsafe_b64encode(bytes(blob)).decode().rstrip('=')}"


def test_a_field_round_trips_through_the_environment_keyring(aws: Aws) -> None:
    from cognitionos.crypto import subject_keyring

    token = subject_keyring().encrypt("cus_1", "email", EMAIL)
    assert token.startswith("v1.")
    assert EMAIL not in token
    assert subject_keyring().decrypt("cus_1", "email", token) == EMAIL
    assert keyring(aws).decrypt("cus_1", "email", token) == EMAIL  # another environment


def test_the_same_value_encrypts_differently_each_time(aws: Aws) -> None:
    ring = keyring(aws)
    first, second = (ring.encrypt("cus_1", "name", "Ada") for _ in range(2))
    assert first != second
    assert ring.decrypt("cus_1", "name", first) == ring.decrypt("cus_1", "name", second) == "Ada"


def test_a_token_moved_to_another_subject_or_field_or_altered_does_not_decrypt(
    aws: Aws,
) -> None:
    from cognitionos.crypto import InvalidToken

    ring = keyring(aws)
    token = ring.encrypt("cus_1", "email", EMAIL)
    ring.encrypt("cus_2", "email", "someone@example.com")
    for subject, field, candidate in [
        ("cus_2", "email", token),
        ("cus_1", "name", token),
        ("cus_1", "email", flip_last_byte(token)),
    ]:
        with pytest.raises(InvalidToken) as raised:
            ring.decrypt(subject, field, candidate)
        assert EMAIL not in str(raised.value)


@pytest.mark.parametrize("token", ["", "ada@example.com", "v2.AAAA", "v1.!!!", "v1.AAAA"])
def test_something_that_is_not_a_token_is_refused_before_any_aws_call(aws: Aws, token: str) -> None:
    from cognitionos.crypto import InvalidToken

    with count_aws_calls() as calls, pytest.raises(InvalidToken):
        keyring(aws).decrypt("cus_1", "email", token)
    assert not calls


def test_an_erased_subject_is_unreadable_everywhere_and_gets_no_new_key(aws: Aws) -> None:
    from cognitionos.crypto import SubjectErased

    ring = keyring(aws)
    token = ring.encrypt("cus_1", "email", EMAIL)
    kept = ring.encrypt("cus_2", "email", "other@example.com")
    ring.destroy("cus_1")
    ring.destroy("cus_1")  # erasure is idempotent
    for reader in (ring, keyring(aws)):
        with pytest.raises(SubjectErased):
            reader.decrypt("cus_1", "email", token)
        with pytest.raises(SubjectErased):
            reader.encrypt("cus_1", "email", EMAIL)
    assert ring.decrypt("cus_2", "email", kept) == "other@example.com"
    (tombstone,) = [i for i in stored_items(aws) if i["subject_id"] == "cus_1"]
    assert tombstone == {"subject_id": "cus_1", "erased": True}


def test_another_warm_environment_stops_reading_an_erased_subject_when_its_cache_expires(
    aws: Aws,
) -> None:
    from cognitionos.crypto import SubjectErased

    now = [0.0]
    warm = keyring(aws, cache_max_age_s=300, clock=lambda: now[0])
    token = warm.encrypt("cus_1", "email", EMAIL)
    keyring(aws).destroy("cus_1")
    now[0] = 301.0
    with pytest.raises(SubjectErased):
        warm.decrypt("cus_1", "email", token)


def test_the_table_holds_only_a_kms_wrapped_key_and_no_plaintext(aws: Aws) -> None:
    ring = keyring(aws)
    ring.encrypt("cus_1", "email", EMAIL)
    ring.encrypt("cus_1", "name", "Ada Lovelace")
    (item,) = stored_items(aws)
    assert set(item) == {"subject_id", "wrapped_key", "kms_key_id", "scheme"}
    raw = repr(item).lower()
    assert "ada" not in raw and "lovelace" not in raw
    # The wrapped key is a KMS ciphertext, unwrappable only with the subject as context.
    kms = boto3.client("kms", region_name=REGION)
    unwrapped = kms.decrypt(
        CiphertextBlob=bytes(item["wrapped_key"]), EncryptionContext={"subject_id": "cus_1"}
    )["Plaintext"]
    assert len(unwrapped) == 32
    assert unwrapped not in bytes(item["wrapped_key"])


def test_a_wrapped_key_copied_to_another_subject_does_not_unwrap(aws: Aws) -> None:
    from botocore.exceptions import ClientError

    ring = keyring(aws)
    ring.encrypt("cus_1", "email", EMAIL)
    (item,) = stored_items(aws)
    aws.table("subject-keys").put_item(Item={**item, "subject_id": "cus_2"})
    token = ring.encrypt("cus_1", "email", EMAIL)
    with pytest.raises(ClientError, match="InvalidCiphertext"):
        keyring(aws).decrypt("cus_2", "email", token)


def test_a_warm_keyring_makes_one_kms_call_per_subject(aws: Aws) -> None:
    writer = keyring(aws)
    with count_aws_calls() as writes:
        tokens = {
            subject: [writer.encrypt(subject, field, f"{field} of {subject}") for field in "abc"]
            for subject in ("cus_1", "cus_2")
        }
    assert writes["kms.GenerateDataKey"] == 2
    assert writes["kms.Decrypt"] == 0

    reader = keyring(aws)
    with count_aws_calls() as reads:
        for _ in range(3):
            for subject, subject_tokens in tokens.items():
                for field, token in zip("abc", subject_tokens, strict=True):
                    assert reader.decrypt(subject, field, token) == f"{field} of {subject}"
    assert reads["kms.Decrypt"] == 2
    assert reads["dynamodb.GetItem"] == 2
    assert reads["kms.GenerateDataKey"] == 0


def test_the_cache_is_bounded_least_recently_used_first(aws: Aws) -> None:
    ring = keyring(aws, cache_size=2)
    tokens = {s: ring.encrypt(s, "email", f"{s}@example.com") for s in ("cus_1", "cus_2")}
    ring.encrypt("cus_3", "email", "cus_3@example.com")  # evicts cus_1
    with count_aws_calls() as calls:
        ring.decrypt("cus_2", "email", tokens["cus_2"])
        ring.decrypt("cus_1", "email", tokens["cus_1"])
    assert calls["kms.Decrypt"] == 1


def test_two_first_uses_racing_end_with_one_key(aws: Aws) -> None:
    """Environment B reads no key, A creates one, B's conditional put loses and reads A's."""
    from cognitionos.aws import dynamodb_table
    from cognitionos.crypto import SubjectKeyring

    first = keyring(aws)
    won: list[str] = []
    real_table = dynamodb_table(aws.env[topology.SUBJECT_KEYS_TABLE.env_var])

    class ReadsThenLetsTheOtherWin:
        def __init__(self) -> None:
            self.meta = real_table.meta

        def get_item(self, **kwargs: Any) -> Any:
            found = real_table.get_item(**kwargs)
            if not won:
                won.append(first.encrypt("cus_1", "email", EMAIL))
            return found

        def put_item(self, **kwargs: Any) -> Any:
            return real_table.put_item(**kwargs)

    second = SubjectKeyring(
        ReadsThenLetsTheOtherWin(),  # type: ignore[arg-type]
        aws.env[topology.PII_KEY.env_var],
    )
    with count_aws_calls() as calls:
        late = second.encrypt("cus_1", "name", "Ada")
    assert calls["kms.GenerateDataKey"] == 2  # A's and B's; B's loses the put
    assert calls["kms.Decrypt"] == 1  # B unwraps the winner's key
    assert len(stored_items(aws)) == 1
    fresh = keyring(aws)
    assert fresh.decrypt("cus_1", "email", won[0]) == EMAIL
    assert fresh.decrypt("cus_1", "name", late) == "Ada"


def test_the_blind_index_key_comes_from_the_topology_secret(aws: Aws) -> None:
    from cognitionos.crypto import blind_index, blind_index_key

    key = blind_index_key()
    assert len(key) == 48
    assert blind_index(" Ada@Example.COM", key) == blind_index("ada@example.com", key)
