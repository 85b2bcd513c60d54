"""The audit log in DynamoDB: appending to a chain without forking it, and reading it back.

Two tables (docs/AUDIT.md). ``audit``: the entries, ``pk`` = chain, ``sk`` = seq (12 digits),
put once and never changed; IAM denies every function UpdateItem and DeleteItem on it, so
an entry can be added and nothing else. ``audit-heads``: one item per chain, ``chain`` ->
its last ``seq`` and ``hash``, the only thing an append updates.

An append is one transaction: put entry N unless it exists, and move the head from N-1 to
N. Two writers that read the same head both try N; one transaction wins, the other's head
condition fails, and the failure hands back the current head (``ALL_OLD``), from which the
loser builds N+1 and tries again, without a read. A warm writer keeps the heads it wrote,
so the next append to the same chain needs no read either.
"""

from __future__ import annotations

import functools
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from cognitionos.audit.chain import GENESIS, Draft, Head, chain_of
from cognitionos.aws import dynamodb_table
from cognitionos.dynamodb import all_items, plain
from cognitionos.settings import FunctionSettings, load_settings
from cognitionos.timeutil import iso, now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SEQ_DIGITS = 12
ANCHOR_PREFIX = "ANCHORS#"  # pk of a chain's anchor records, in the entries table
MAX_APPEND_ATTEMPTS = 100
# How a transaction says another writer got there first: a failed condition (the head moved,
# the seq is taken) or, in DynamoDB, a conflict with a transaction still in flight.
LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
# A loser retries at once with the head its failure handed back (it is most likely current);
# after this many losses in a row it pauses (full jitter) and reads the head again.
IMMEDIATE_RETRIES = 4
BASE_PAUSE_S = 0.002
MAX_PAUSE_S = 0.1
_JITTER = random.SystemRandom()


class ChainContended(RuntimeError):
    """Other writers kept extending the chain: the caller's trigger retries the event."""


def seq_key(seq: int) -> str:
    return f"{seq:0{SEQ_DIGITS}d}"


@dataclass
class PreparedAppend:
    """Entries at their chain positions and the transaction items that append them: one
    conditional Put per entry, then the head's conditional Update (always the last item)."""

    entries: list[dict[str, Any]]
    transact_items: list[dict[str, Any]]

    @property
    def chain(self) -> str:
        return str(self.entries[0]["chain"])

    @property
    def entry(self) -> dict[str, Any]:
        return self.entries[-1]


class AuditLog:
    """Appends audit entries to their chains; one per execution environment (``audit_log``).

    ``sealer``: seals ``personal`` details with the subject's data key (a function declared
    ``pii="write"`` passes its keyring, ``cognitionos.crypto.subject_keyring()``); without
    one, personal details are refused rather than stored in plaintext.
    """

    def __init__(
        self,
        entries: Table,
        heads: Table,
        sealer: Any = None,
        clock: Callable[[], str] = lambda: iso(now()),
    ) -> None:
        self._entries = entries
        self._heads = heads
        self._client = entries.meta.client
        self._sealer = sealer
        self._clock = clock
        self._known_heads: dict[str, Head] = {}

    # --- writing -------------------------------------------------------------------------

    def draft(
        self,
        action: str,
        *,
        actor: str,
        resource: str,
        tenant_id: str | None = None,
        details: dict[str, Any] | None = None,
        personal: dict[str, str] | None = None,
        subject: str | None = None,
    ) -> Draft:
        """An entry not yet placed in its chain; ``personal`` values are sealed for
        ``subject`` (default: the tenant) and only their ciphertext is kept."""
        sealed: dict[str, str] = {}
        owner = subject or tenant_id
        if personal:
            if self._sealer is None or not owner:
                raise ValueError("personal audit details need a keyring and a subject")
            sealed = {
                name: self._sealer.encrypt(owner, f"audit.{name}", value)
                for name, value in personal.items()
            }
        return Draft(
            action=action,
            actor=actor,
            resource=resource,
            tenant_id=tenant_id,
            event_id=str(uuid.uuid4()),
            time=self._clock(),
            details=dict(details or {}),
            sealed=sealed,
            subject=owner if sealed else None,
        )

    def record(
        self,
        action: str,
        *,
        actor: str,
        resource: str,
        tenant_id: str | None = None,
        details: dict[str, Any] | None = None,
        personal: dict[str, str] | None = None,
        subject: str | None = None,
        attempts: int = MAX_APPEND_ATTEMPTS,
    ) -> dict[str, Any]:
        """Append one entry to its chain (one transaction); the entry as stored.

        ``attempts``: how many transactions it may take; ChainContended after that many lost
        races (a writer that must not wait passes 1 and carries what it meant to record)."""
        draft = self.draft(
            action,
            actor=actor,
            resource=resource,
            tenant_id=tenant_id,
            details=details,
            personal=personal,
            subject=subject,
        )
        prepared = self.prepare([draft])
        for attempt in range(attempts):
            try:
                self._client.transact_write_items(TransactItems=prepared.transact_items)  # type: ignore[arg-type]
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                prepared = self.after_conflict(prepared, reasons)
                if attempt >= IMMEDIATE_RETRIES:
                    # Still losing: step aside for a while, then read where the chain is.
                    contention_pause(attempt)
                    self.forget(draft.chain)
                    prepared = self.prepare([draft])
                continue
            self.committed(prepared)
            return prepared.entry
        raise ChainContended(f"the {draft.chain} chain kept moving; the event is retried")

    def commit_with(
        self, items: Sequence[dict[str, Any]], drafts: Sequence[Draft]
    ) -> list[dict[str, Any]] | None:
        """Write ``items`` (a state change guarded by its own conditions) and ``drafts``' entries
        in one transaction: both or neither. None once committed; the cancellation reasons of
        ``items`` when one of their conditions failed, nothing written. Only the writer whose
        state change wins records the entries, so a retried request or a redelivered message
        whose change is refused records nothing twice. If only the chain moved, the same
        change is placed after the new head and tried again."""
        prepared = self.prepare(drafts)
        own = len(items)
        for attempt in range(MAX_APPEND_ATTEMPTS):
            try:
                self._client.transact_write_items(
                    TransactItems=[*items, *prepared.transact_items]  # type: ignore[list-item]
                )
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[:own]):
                    return reasons[:own]
                if any(r.get("Code") not in (None, "None") for r in reasons[:own]):
                    raise  # the change itself met a conflict: the caller's trigger retries
                prepared = self.after_conflict(prepared, reasons)
                if attempt >= IMMEDIATE_RETRIES:
                    contention_pause(attempt)
                    self.forget(prepared.chain)
                    prepared = self.prepare([_draft_of(e) for e in prepared.entries])
                continue
            self.committed(prepared)
            return None
        raise ChainContended(f"the {prepared.chain} chain kept moving; the request is retried")

    def prepare(self, drafts: Sequence[Draft]) -> PreparedAppend:
        """``drafts`` (one chain) as its next entries; the head is read only when unknown."""
        chains = {draft.chain for draft in drafts}
        if len(chains) != 1:
            raise ValueError(f"one append extends one chain, not {sorted(chains)}")
        (chain,) = chains
        head = self._known_heads.get(chain) or self.head(chain)
        return self._at(list(drafts), head)

    def after_conflict(
        self, prepared: PreparedAppend, reasons: list[dict[str, Any]]
    ) -> PreparedAppend:
        """The same drafts placed again after a cancelled transaction that ended with
        ``prepared``'s items; raises unless the cancellation was the chain moving on."""
        count = len(prepared.entries)
        entry_reasons, head_reason = reasons[-count - 1 : -1], reasons[-1]
        ours = [r.get("Code") for r in [*entry_reasons, head_reason]]
        if not any(code in LOST_RACE for code in ours):
            raise ChainConflictError(reasons)
        # The failed head condition hands back the head that won; otherwise read it.
        current = _head_of(head_reason.get("Item"))
        if current is None:
            current = self.head(prepared.chain)
        self._known_heads[prepared.chain] = current  # type: ignore[assignment]
        return self._at([_draft_of(e) for e in prepared.entries], current)

    def committed(self, prepared: PreparedAppend) -> None:
        """Remember the head this writer just wrote: its next append needs no read."""
        entry = prepared.entry
        self._known_heads[prepared.chain] = Head(int(entry["seq"]), str(entry["hash"]))

    def forget(self, chain: str) -> None:
        self._known_heads.pop(chain, None)

    def _at(self, drafts: list[Draft], head: Head | None) -> PreparedAppend:
        seq = head.seq if head else 0
        prev = head.hash if head else GENESIS
        entries, items = [], []
        for draft in drafts:
            seq += 1
            entry = draft.at(seq, prev)
            prev = entry["hash"]
            entries.append(entry)
            put = {
                "TableName": self._entries.name,
                "Item": {"pk": entry["chain"], "sk": seq_key(seq), **entry},
                "ConditionExpression": "attribute_not_exists(sk)",
            }
            items.append({"Put": put})
        last = entries[-1]
        values: dict[str, Any] = {":seq": seq, ":hash": last["hash"], ":time": last["time"]}
        if head is None:
            condition = "attribute_not_exists(chain)"
        else:
            condition = "seq = :prev"
            values[":prev"] = head.seq
        move_head = {
            "TableName": self._heads.name,
            "Key": {"chain": last["chain"]},
            "UpdateExpression": "SET seq = :seq, #h = :hash, updated_at = :time",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#h": "hash"},
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        items.append({"Update": move_head})
        return PreparedAppend(entries, items)

    # --- reading -------------------------------------------------------------------------

    def head(self, chain: str) -> Head | None:
        item = self._heads.get_item(Key={"chain": chain}, ConsistentRead=True).get("Item")
        return _head_of(plain(item)) if item else None


class ChainConflictError(RuntimeError):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        codes = [r.get("Code") for r in reasons]
        super().__init__(f"the audit append was cancelled for another reason: {codes}")


def _draft_of(entry: dict[str, Any]) -> Draft:
    return Draft(**{name: entry[name] for name in Draft.__dataclass_fields__})


def _head_of(item: dict[str, Any] | None) -> Head | None:
    """A head item, plain or as DynamoDB's wire format hands it back on a failed condition."""
    if not item:
        return None
    if isinstance(item.get("seq"), dict):  # wire format: {"N": "7"}
        deserializer = TypeDeserializer()
        item = {k: plain(deserializer.deserialize(v)) for k, v in item.items()}
    return Head(int(item["seq"]), str(item["hash"]))


def contention_pause(attempt: int) -> None:
    """Full jitter before the ``attempt``-th try: writers that keep colliding on one chain
    spread out instead of all trying again at once."""
    cap = min(MAX_PAUSE_S, BASE_PAUSE_S * 2**attempt)
    time.sleep(_JITTER.uniform(0, cap))


def cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


class AuditReader:
    """Reads chains back: entries in seq order, filtered pages, heads, anchor records."""

    def __init__(self, entries: Table, heads: Table) -> None:
        self._entries = entries
        self._heads = heads

    def head(self, chain: str) -> Head | None:
        item = self._heads.get_item(Key={"chain": chain}, ConsistentRead=True).get("Item")
        return _head_of(plain(item)) if item else None

    def heads(self) -> Iterator[tuple[str, Head]]:
        for item in all_items(self._heads.scan, ConsistentRead=True):
            head = _head_of(item)
            if head is not None:
                yield str(item["chain"]), head

    def entries(
        self, chain: str, from_seq: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The chain's entries from ``from_seq``, in seq order (consistent reads)."""
        condition = Key("pk").eq(chain) & Key("sk").gte(seq_key(from_seq))
        items = all_items(
            self._entries.query, KeyConditionExpression=condition, ConsistentRead=True
        )
        for count, item in enumerate(items):
            if limit is not None and count >= limit:
                return
            yield entry_of(item)

    def page(
        self,
        chain: str,
        *,
        limit: int,
        start: dict[str, Any] | None,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to ``limit`` matching entries, newest first, and the key to continue after."""
        conditions: list[ConditionBase] = [
            Attr(name).eq(value)
            for name, value in (("actor", actor), ("action", action), ("resource", resource))
            if value is not None
        ]
        if since is not None:
            conditions.append(Attr("time").gte(since))
        if until is not None:
            conditions.append(Attr("time").lt(until))
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(chain),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if conditions:
            combined = conditions[0]
            for condition in conditions[1:]:
                combined = combined & condition
            kwargs["FilterExpression"] = combined
        found: list[dict[str, Any]] = []
        while True:
            if start:
                kwargs["ExclusiveStartKey"] = start
            kwargs["Limit"] = max(limit - len(found), 1) if not conditions else 100
            response = self._entries.query(**kwargs)
            for item in response.get("Items", []):
                found.append(entry_of(plain(item)))
                if len(found) == limit:
                    last = {"pk": chain, "sk": str(item["sk"])}
                    more = item is not response["Items"][-1] or "LastEvaluatedKey" in response
                    return found, last if more else None
            start = response.get("LastEvaluatedKey")
            if not start:
                return found, None

    def anchors(self, chain: str) -> list[dict[str, Any]]:
        """The chain's anchor records (each points at its Object Lock copy in S3)."""
        return list(
            all_items(
                self._entries.query,
                KeyConditionExpression=Key("pk").eq(ANCHOR_PREFIX + chain),
                ConsistentRead=True,
            )
        )


def entry_of(item: dict[str, Any]) -> dict[str, Any]:
    """An entry as hashed: the stored item without its table keys."""
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


class AuditSettings(FunctionSettings):
    """What a function whose topology entry includes ``AUDIT_WRITING`` (or reads) gets."""

    audit_table: str
    audit_heads_table: str


@functools.cache
def audit_settings() -> AuditSettings:
    return load_settings(AuditSettings)


@functools.cache
def audit_log(sealer: Any = None) -> AuditLog:
    """The execution environment's writer (heads it wrote are kept between invocations)."""
    settings = audit_settings()
    return AuditLog(
        dynamodb_table(settings.audit_table), dynamodb_table(settings.audit_heads_table), sealer
    )


def audit_log_if_configured() -> AuditLog | None:
    """The writer of a function that declares the audit tables; None in one that does not
    (kernel code shared by every function, such as the API-key check, records when it can)."""
    if not os.environ.get("AUDIT_TABLE") or not os.environ.get("AUDIT_HEADS_TABLE"):
        return None
    return audit_log()


def audit_reader() -> AuditReader:
    settings = audit_settings()
    return AuditReader(
        dynamodb_table(settings.audit_table), dynamodb_table(settings.audit_heads_table)
    )


def reset_caches() -> None:
    audit_settings.cache_clear()
    audit_log.cache_clear()


__all__ = ["AuditLog", "AuditReader", "audit_log", "audit_reader", "chain_of"]
