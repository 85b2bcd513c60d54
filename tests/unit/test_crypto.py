"""Kernel crypto without AWS: blind indexes and token checks."""

from __future__ import annotations

import pytest

from cognitionos.crypto import SubjectErased, blind_index, normalise

KEY = b"k" * 32


def test_a_blind_index_ignores_case_and_surrounding_space() -> None:
    assert blind_index("  Ada@Example.COM\n", KEY) == blind_index("ada@example.com", KEY)


def test_a_blind_index_folds_unicode_compatibility_forms() -> None:
    assert normalise("\uff21\uff24\uff21") == "ada"
    assert normalise("Straße") == "strasse"


def test_a_blind_index_is_a_keyed_hash_without_the_value() -> None:
    index = blind_index("ada@example.com", KEY)
    assert len(index) == 64 and "ada" not in index
    assert index != blind_index("ada@example.com", b"other key")
    assert index != blind_index("bob@example.com", KEY)


@pytest.mark.parametrize(("value", "key"), [("  ", KEY), ("ada@example.com", b"")])
def test_a_blind_index_needs_a_value_and_a_key(value: str, key: bytes) -> None:
    with pytest.raises(ValueError):
        blind_index(value, key)


def test_an_erased_subject_maps_to_410_without_naming_the_subject() -> None:
    error = SubjectErased("cus_1")
    assert error.status_code == 410
    assert "cus_1" not in error.message
