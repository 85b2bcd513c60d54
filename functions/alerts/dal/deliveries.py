"""The notification log: one item per (alert, channel, event), beside the alert.

A dispatcher claims the entry with a conditional write before it sends: only an entry that
does not exist yet, is waiting for a retry, or whose claim lapsed (a dispatcher that died
mid-send) can be claimed. So a redelivered message, or two copies of one handled at once,
send once: the second finds the entry sent, digested, failed or held, and stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError

from cognitionos.dynamodb import is_condition_failure, plain

DeliveryStatus = Literal["sending", "sent", "retrying", "failed", "digested"]
# How long a claim holds: more than a send can take (connect + read timeouts), less than the
# queue's visibility timeout, so a message back from a dead dispatcher finds it lapsed.
LEASE_S = 60


def delivery_key(alert_id: str, channel_id: str, event: str) -> dict[str, str]:
    return {"pk": f"ALERT#{alert_id}", "sk": f"DELIVERY#{channel_id}#{event}"}


def digest_key(channel_id: str, digest_id: str) -> dict[str, str]:
    return {"pk": f"CHANNEL#{channel_id}", "sk": f"DIGEST#{digest_id}"}


def delivery_view(item: Mapping[str, Any]) -> dict[str, Any]:
    data = plain(dict(item))
    status = data.get("status")
    return {
        "channel_id": data["channel_id"],
        "event": data["event"],
        "status": "retrying" if status == "sending" else status,  # a send in flight
        "attempts": int(data.get("attempts", 0)),
        "last_error": data.get("last_error"),
    }


class NotificationLog:
    def __init__(self, table: Any) -> None:
        self._table = table

    def claim(self, key: Mapping[str, str], fields: Mapping[str, str], now: int) -> int | None:
        """The attempt number now claimed (1 for the first), or None: already settled, or
        another dispatcher holds it."""
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":sending": "sending",
            ":retrying": "retrying",
            ":lease": now + LEASE_S,
            ":now": now,
            ":one": 1,
        }
        sets = ["#s = :sending", "lease_until = :lease", "updated_at = :now"]
        for i, (name, value) in enumerate(sorted(fields.items())):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        try:
            response = self._table.update_item(
                Key=dict(key),
                UpdateExpression=f"SET {', '.join(sets)} ADD attempts :one",
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #s = :retrying "
                    "OR (#s = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return None
            raise
        return int(response["Attributes"]["attempts"])

    def settle(
        self, key: Mapping[str, str], status: DeliveryStatus, error: str | None, now: int
    ) -> None:
        self._table.update_item(
            Key=dict(key),
            UpdateExpression="SET #s = :s, last_error = :e, updated_at = :now REMOVE lease_until",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":e": error, ":now": now},
        )

    def record(
        self,
        key: Mapping[str, str],
        fields: Mapping[str, str],
        status: DeliveryStatus,
        error: str | None,
        now: int,
    ) -> None:
        """An entry settled without a send (a digested notification), unless one exists."""
        try:
            self._table.put_item(
                Item={
                    **key,
                    **fields,
                    "status": status,
                    "attempts": 0,
                    "last_error": error,
                    "updated_at": now,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
