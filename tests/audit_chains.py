"""In-memory audit chains and the tamperings the verifier must catch (unit tests, bench)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from cognitionos.audit.chain import GENESIS, HASHED_FIELDS, Draft, Head, chain_of

Entry = dict[str, Any]
Tampering = Callable[[list[Entry], random.Random], int]  # tampers in place; the expected seq


def draft(n: int, tenant_id: str | None = "cus_A") -> Draft:
    return Draft(
        action="billing.event.processed" if n % 2 else "subscription.changed",
        actor="stripe",
        resource=f"stripe_event:evt_{n}",
        tenant_id=tenant_id,
        event_id=f"e-{n}",
        time=f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
        details={"n": n, "object": f"subscription:sub_{n % 7}"},
        sealed={"note": f"v1.ciphertext{n}"} if n % 5 == 0 else {},
        subject=tenant_id if n % 5 == 0 else None,
    )


def build_chain(length: int, tenant_id: str | None = "cus_A") -> list[Entry]:
    entries: list[Entry] = []
    prev = GENESIS
    for seq in range(1, length + 1):
        entry = draft(seq, tenant_id).at(seq, prev)
        prev = entry["hash"]
        entries.append(entry)
    return entries


def head_of(entries: list[Entry]) -> Head:
    return Head(entries[-1]["seq"], entries[-1]["hash"])


CHAIN = chain_of("cus_A")


def change_a_field(entries: list[Entry], rng: random.Random) -> int:
    entry = rng.choice(entries)
    name = rng.choice([*HASHED_FIELDS, "hash"])
    value = entry.get(name)
    if isinstance(value, bool) or name == "seq" or isinstance(value, int):
        entry[name] = (value or 0) + rng.choice([-1, 1, 7])
    elif isinstance(value, dict):
        entry[name] = {**value, "tampered": rng.randrange(1000)}
    elif isinstance(value, str) and value:
        index = rng.randrange(len(value))
        replacement = "x" if value[index] != "x" else "y"
        entry[name] = value[:index] + replacement + value[index + 1 :]
    else:
        entry[name] = "tampered"
    return int(entries.index(entry)) + 1


def delete_an_entry(entries: list[Entry], rng: random.Random) -> int:
    index = rng.randrange(len(entries))
    del entries[index]
    return index + 1  # the seq now missing (the last one shows against the head)


def swap_two_entries(entries: list[Entry], rng: random.Random) -> int:
    first, second = sorted(rng.sample(range(len(entries)), 2))
    entries[first], entries[second] = entries[second], entries[first]
    return first + 1


def duplicate_an_entry(entries: list[Entry], rng: random.Random) -> int:
    index = rng.randrange(len(entries))
    entries.insert(index + 1, copy.deepcopy(entries[index]))
    return index + 2


TAMPERINGS: tuple[Tampering, ...] = (
    change_a_field,
    delete_an_entry,
    swap_two_entries,
    duplicate_an_entry,
)
