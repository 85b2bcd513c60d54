"""Re-wrapping subjects' data keys under a new PII key, without touching the data they seal.

``cognitionos.crypto`` keeps each subject's AES-256 data key wrapped by the PII KMS key in
the ``subject-keys`` table. When an operator moves to a new PII key, every wrapped key is
re-wrapped with one KMS ``ReEncrypt``: KMS unwraps it under the previous key and wraps it
under the current one inside KMS, so the data key's plaintext never reaches this code, and
every token sealed with it stays valid. The encryption context (``subject_id``) is kept.

The new wrapped key is written only if the item is exactly as it was read and not erased,
so a concurrent erasure (its tombstone) or another run's re-wrap is never undone::

    rewrapper = SubjectKeyRewrapper(table, current_key_arn, previous_key_arn)
    items, next_start = rewrapper.page(start_after=None)
    outcome = rewrapper.rewrap(items[0])   # Outcome.REWRAPPED, ALREADY_CURRENT, ...
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cognitionos.aws import client
from cognitionos.crypto import CONTEXT_KEY
from cognitionos.dynamodb import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms.client import KMSClient

PAGE_SIZE = 100  # subject-key items per Scan page; each is a few hundred bytes


class Outcome(enum.Enum):
    REWRAPPED = "rewrapped"
    ALREADY_CURRENT = "already_current"
    ERASED = "erased_skipped"
    # Wrapped by a key that is neither the current nor the previous PII key: this job may
    # not unwrap it, and neither may any reader (docs/SECURITY.md, "PII key").
    OTHER_KEY = "other_key"


def classify(
    item: dict[str, Any] | None, current_key: str, previous_key: str | None
) -> Outcome | None:
    """What a subject-key item needs; None when it must be re-wrapped from ``previous_key``."""
    if item is None or item.get("erased") or "wrapped_key" not in item:
        return Outcome.ERASED  # a tombstone (or an item an operator deleted): nothing to wrap
    wrapped_by = item.get("kms_key_id")
    if wrapped_by == current_key:
        return Outcome.ALREADY_CURRENT
    if previous_key is not None and wrapped_by == previous_key:
        return None
    return Outcome.OTHER_KEY


class SubjectKeyRewrapper:
    """Reads the subject-keys table a page at a time and re-wraps one item at a time.

    ``current_key`` and ``previous_key`` are key ARNs, as the stack gives them (the item's
    ``kms_key_id`` is the ARN KMS answered with). Without a previous key nothing can be
    re-wrapped: items not on the current key are reported as ``OTHER_KEY``.
    """

    def __init__(
        self,
        table: Table,
        current_key: str,
        previous_key: str | None,
        kms_client: KMSClient | None = None,
    ) -> None:
        self._table = table
        self._current = current_key
        self._previous = previous_key or None
        self._kms: KMSClient = kms_client or client("kms")

    @property
    def current_key(self) -> str:
        return self._current

    @property
    def previous_key(self) -> str | None:
        return self._previous

    def page(
        self, start_after: str | None, limit: int = PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` items after the subject ``start_after`` (None: from the start),
        and the subject to start after next (None: the table is read to its end)."""
        kwargs: dict[str, Any] = {"Limit": limit, "ConsistentRead": True}
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = {"subject_id": start_after}
        answer = self._table.scan(**kwargs)
        last = answer.get("LastEvaluatedKey")
        return list(answer.get("Items", [])), str(last["subject_id"]) if last else None

    def rewrap(self, item: dict[str, Any]) -> Outcome:
        """Bring one subject's wrapped key to the current PII key: one KMS ReEncrypt and one
        conditional UpdateItem when it needs it, no call at all when it does not."""
        outcome = classify(item, self._current, self._previous)
        if outcome is not None:
            return outcome
        subject_id = str(item["subject_id"])
        context = {CONTEXT_KEY: subject_id}
        old_blob = bytes(item["wrapped_key"])  # a Binary
        rewrapped = self._kms.re_encrypt(
            CiphertextBlob=old_blob,
            SourceKeyId=str(item["kms_key_id"]),
            SourceEncryptionContext=context,
            DestinationKeyId=self._current,
            DestinationEncryptionContext=context,
        )
        try:
            self._table.update_item(
                Key={"subject_id": subject_id},
                UpdateExpression="SET wrapped_key = :new, kms_key_id = :current",
                # Unchanged since read and not erased: a tombstone put meanwhile wins.
                ConditionExpression=(
                    "wrapped_key = :old AND kms_key_id = :source AND attribute_not_exists(erased)"
                ),
                ExpressionAttributeValues={
                    ":new": rewrapped["CiphertextBlob"],
                    ":current": self._current,
                    ":old": old_blob,
                    ":source": str(item["kms_key_id"]),
                },
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # Someone else wrote the item first: say what it is now.
            now = self._table.get_item(Key={"subject_id": subject_id}, ConsistentRead=True)
            return classify(now.get("Item"), self._current, self._previous) or Outcome.OTHER_KEY
        return Outcome.REWRAPPED
