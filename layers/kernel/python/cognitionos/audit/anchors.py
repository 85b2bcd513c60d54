"""Anchoring: each chain's head written to an S3 bucket under Object Lock (compliance mode).

A head in S3 cannot be changed or deleted by anyone, the account's root included, until its
retention ends; so a rewrite of the table that recomputes every hash after an anchored seq
still disagrees with the anchor (Certificate Transparency's signed tree heads, QLDB's
digests). Objects are ``anchors/<chain>/<seq>.json``; the table keeps a record of each
(``ANCHORS#<chain>`` / seq) so that verification and export find them without listing the
bucket. A chain whose head was anchored already is skipped: a rerun writes nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cognitionos.audit.chain import Head, canonical
from cognitionos.audit.store import ANCHOR_PREFIX, AuditReader, seq_key
from cognitionos.dynamodb import is_condition_failure, plain
from cognitionos.timeutil import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ANCHOR_FORMAT = "cognitionos-audit-anchor/1"


def anchor_key(chain: str, seq: int) -> str:
    return f"anchors/{chain}/{seq_key(seq)}.json"


def anchor_body(chain: str, head: Head, anchored_at: str) -> bytes:
    return canonical(
        {
            "format": ANCHOR_FORMAT,
            "chain": chain,
            "seq": head.seq,
            "hash": head.hash,
            "anchored_at": anchored_at,
        }
    )


@dataclass(frozen=True)
class AnchorRun:
    chains: int
    anchored: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"chains": self.chains, "anchored": self.anchored, "unchanged": self.unchanged}


class Anchors:
    """Writes and reads anchors: ``s3`` a client, ``bucket`` the anchors bucket."""

    def __init__(self, entries: Table, s3: Any, bucket: str) -> None:
        self._entries = entries
        self._s3 = s3
        self._bucket = bucket

    def anchor_all(self, reader: AuditReader, moment: datetime) -> AnchorRun:
        chains = anchored = 0
        for chain, head in reader.heads():
            chains += 1
            latest = self.latest(chain)
            if latest is not None and int(latest["seq"]) >= head.seq:
                continue
            self.anchor(chain, head, moment)
            anchored += 1
        return AnchorRun(chains, anchored, chains - anchored)

    def anchor(self, chain: str, head: Head, moment: datetime) -> None:
        """The head in S3 (the bucket's compliance retention), then its record in the table."""
        key = anchor_key(chain, head.seq)
        body = anchor_body(chain, head, iso(moment))
        put = self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            # Retention is the bucket's default (compliance mode, infra/constructs/buckets.py);
            # S3 wants a checksum on every put to a locked bucket.
            ChecksumAlgorithm="SHA256",
        )
        record = {
            "pk": ANCHOR_PREFIX + chain,
            "sk": seq_key(head.seq),
            "chain": chain,
            "seq": head.seq,
            "hash": head.hash,
            "anchored_at": iso(moment),
            "object_key": key,
            "version_id": put.get("VersionId"),
        }
        try:
            self._entries.put_item(Item=record, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as error:
            if not is_condition_failure(error):
                raise  # a rerun after a crash between the two writes finds its record here

    def latest(self, chain: str) -> dict[str, Any] | None:
        response = self._entries.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": ANCHOR_PREFIX + chain},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return plain(items[0]) if items else None

    def stored(self, record: dict[str, Any]) -> dict[str, Any]:
        """The anchor as S3 keeps it (that exact version), with where it is."""
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": record["object_key"]}
        if record.get("version_id"):
            kwargs["VersionId"] = record["version_id"]
        body = self._s3.get_object(**kwargs)["Body"].read()
        anchor: dict[str, Any] = json.loads(body)
        return anchor | {"object_key": record["object_key"], "version_id": record.get("version_id")}
