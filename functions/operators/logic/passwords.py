"""Operators' passwords: Argon2id (OWASP's first choice), stored as argon2-cffi's PHC string.

``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>``: the string names its own parameters, so a
hash made before the parameters rose still verifies, and ``needs_rehash`` says it should be
replaced at the next successful sign-in.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's Password Storage Cheat Sheet, first Argon2id configuration: 19 MiB, 2 passes, one
# lane. About 45 ms on one core of the development machine (`make bench` measures it).
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1
HASH_BYTES = 32
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # a bound on the work one request can ask for


class WeakPassword(ValueError):
    """A new password that breaks the policy; the message says which rule."""


def hasher(
    memory_kib: int = MEMORY_KIB, time_cost: int = TIME_COST, parallelism: int = PARALLELISM
) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=HASH_BYTES,
        salt_len=SALT_BYTES,
        type=Type.ID,
    )


@functools.cache
def default_hasher() -> PasswordHasher:
    return hasher()


def check_new_password(password: str) -> None:
    """OWASP's length rule: at least 12 characters (and at most 1024); no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str, ph: PasswordHasher | None = None) -> str:
    """The PHC string of a new password (which must pass ``check_new_password``)."""
    check_new_password(password)
    return (ph or default_hasher()).hash(password)


def verify_password(phc: str, password: str, ph: PasswordHasher | None = None) -> bool:
    """Whether ``password`` is the one ``phc`` was made from; False for a malformed hash."""
    try:
        return (ph or default_hasher()).verify(phc, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(phc: str, ph: PasswordHasher | None = None) -> bool:
    """The hash was made with other (older) parameters than the current ones."""
    return (ph or default_hasher()).check_needs_rehash(phc)


@functools.cache
def dummy_hash() -> str:
    """A hash made at cold start with the current parameters: an unknown email's password
    is checked against it, so that answer costs what a wrong password costs."""
    return default_hasher().hash("no operator has this password; it only spends the time")
