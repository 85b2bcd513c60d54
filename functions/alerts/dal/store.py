"""The alerts table: channels, rules, silences, alerts and each fingerprint's open alert.

Items (pk / sk):
- ``CHANNEL#<id>`` / ``CHANNEL``: a channel; its config sealed with the kernel keyring (the
  channel is the subject), never stored or returned in plaintext.
- ``RULE#<id>`` / ``RULE``, ``SILENCE#<id>`` / ``SILENCE``.
- ``ALERT#<id>`` / ``ALERT``: an alert; its deliveries sit beside it (``dal/deliveries.py``).
- ``FINGERPRINT#<fp>`` / ``OPEN``: the one open alert of a fingerprint. Opening an alert puts
  it with ``attribute_not_exists`` in the same transaction as the alert, so two evaluations
  running at once never open two alerts for one fingerprint; resolving deletes it.

Every creation and every move of an alert is audited (``cognitionos.audit``, the operators'
chain: alerts are the operators') in the transaction that writes it, so an overlapping
evaluation or a retried request whose write is refused records nothing a second time.

gsi1 lists each kind: ``CHANNELS``, ``RULES``, ``SILENCES``, ``ALERTS`` (newest first) and
``OPEN``, each sorted by creation time and id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from alerts.logic.evaluation import OpenAlert
from alerts.logic.routing import Route, Silence
from alerts.logic.rules import Rule
from cognitionos.audit.store import AuditLog
from cognitionos.crypto import SubjectKeyring
from cognitionos.dynamodb import (
    all_items,
    decode_page_token,
    encode_page_token,
    is_condition_failure,
    plain,
)
from cognitionos.errors import NotFound
from cognitionos.timeutil import iso

SILENCE_KEPT_S = 7 * 24 * 3600  # an ended silence is deleted a week later (TTL)
GSI_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})
ALERT_FIELDS = (
    "alert_id",
    "rule_id",
    "fingerprint",
    "severity",
    "status",
    "summary",
    "labels",
    "started_at",
    "runbook_url",
)


def alert_key(alert_id: str) -> dict[str, str]:
    return {"pk": f"ALERT#{alert_id}", "sk": "ALERT"}


def channel_key(channel_id: str) -> dict[str, str]:
    return {"pk": f"CHANNEL#{channel_id}", "sk": "CHANNEL"}


def fingerprint_key(fp: str) -> dict[str, str]:
    return {"pk": f"FINGERPRINT#{fp}", "sk": "OPEN"}


def _transaction_conflict(error: ClientError) -> bool:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


def alert_view(item: Mapping[str, Any]) -> dict[str, Any]:
    data = plain(dict(item))
    return {name: data.get(name) for name in ALERT_FIELDS}


EVALUATOR = "alerts-evaluate"  # the actor of what the evaluation job fires and resolves


class AlertStore:
    def __init__(
        self, table: Any, keyring: SubjectKeyring | None = None, audit: AuditLog | None = None
    ) -> None:
        self._table = table
        self._keyring = keyring
        self._audit = audit

    def _write(
        self,
        items: list[dict[str, Any]],
        action: str,
        actor: str,
        resource: str,
        details: dict[str, Any],
    ) -> bool:
        """``items`` (conditional) and their audit entry in one transaction; False if one of
        the items' conditions failed, and then nothing was written."""
        if self._audit is not None:
            draft = self._audit.draft(action, actor=actor, resource=resource, details=details)
            return self._audit.commit_with(items, [draft]) is None
        try:
            self._table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _transaction_conflict(exc):
                return False
            raise
        return True

    # --- channels ---------------------------------------------------------------------

    def put_channel(
        self, channel: dict[str, Any], config: Mapping[str, Any], now: str, *, actor: str
    ) -> None:
        """The channel with ``alert.channel.created``; the entry names its type and routing,
        never its config (URLs, routing keys, recipients)."""
        if self._keyring is None:
            raise RuntimeError("sealing a channel's config needs the keyring")
        channel_id = channel["channel_id"]
        sealed = self._keyring.encrypt(channel_id, "config", json.dumps(dict(config)))
        item = {
            **channel_key(channel_id),
            **channel,
            "config_sealed": sealed,
            "created_at": now,
            "gsi1pk": "CHANNELS",
            "gsi1sk": f"{now}#{channel_id}",
        }
        details = {
            "type": channel["type"],
            "min_severity": channel["min_severity"],
            "match": dict(channel.get("match") or {}),
            "rate_limit_per_minute": channel.get("rate_limit_per_minute"),
        }
        self._put_new(item, "alert.channel.created", actor, f"alert_channel:{channel_id}", details)

    def _put_new(
        self, item: dict[str, Any], action: str, actor: str, resource: str, details: dict[str, Any]
    ) -> None:
        put = {
            "TableName": self._table.name,
            "Item": _wire(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if not self._write([{"Put": put}], action, actor, resource, details):
            raise RuntimeError(f"{item['pk']} exists already")  # a random id: never in practice

    def routes(self) -> list[Route]:
        return [
            Route(item["channel_id"], item["min_severity"], item.get("match") or {})
            for item in self._list("CHANNELS")
        ]

    # --- rules and silences -----------------------------------------------------------

    def put_rule(self, rule: dict[str, Any], now: str, *, actor: str) -> None:
        item = {
            "pk": f"RULE#{rule['rule_id']}",
            "sk": "RULE",
            **{k: v for k, v in rule.items() if v is not None},
            "created_at": now,
            "gsi1pk": "RULES",
            "gsi1sk": f"{now}#{rule['rule_id']}",
        }
        details = {
            "metric": rule["metric"],
            "comparison": rule["comparison"],
            "threshold": str(rule["threshold"]),  # the audit log hashes no float
            "window_minutes": rule["window_minutes"],
            "severity": rule["severity"],
        }
        self._put_new(item, "alert.rule.created", actor, f"alert_rule:{rule['rule_id']}", details)

    def rules(self) -> list[Rule]:
        return [rule_from_item(item) for item in self._list("RULES")]

    def put_silence(
        self, silence_id: str, match: Mapping[str, str], ends_at: int, now: str, *, actor: str
    ) -> None:
        item = {
            "pk": f"SILENCE#{silence_id}",
            "sk": "SILENCE",
            "silence_id": silence_id,
            "match": dict(match),
            "ends_at": ends_at,
            "created_at": now,
            "expires_at": ends_at + SILENCE_KEPT_S,
            "gsi1pk": "SILENCES",
            "gsi1sk": f"{now}#{silence_id}",
        }
        details = {"match": dict(match), "ends_at": iso(ends_at)}
        self._put_new(item, "alert.silence.created", actor, f"alert_silence:{silence_id}", details)

    def silences(self) -> list[Silence]:
        return [
            Silence(item["silence_id"], item.get("match") or {}, int(item["ends_at"]))
            for item in self._list("SILENCES")
        ]

    # --- alerts -----------------------------------------------------------------------

    def open_alerts(self) -> dict[str, OpenAlert]:
        """Fingerprint -> its open alert (firing or acknowledged)."""
        return {
            item["fingerprint"]: OpenAlert(
                item["fingerprint"],
                item["alert_id"],
                item["rule_id"],
                item["severity"],
                item["status"],
                item.get("labels") or {},
                pending=bool(item.get("pending")),
            )
            for item in self._list("OPEN")
        }

    def open_alert(self, alert: dict[str, Any], value: float) -> bool:
        """Store a new firing alert and claim its fingerprint, both or neither; False if the
        fingerprint already has an open alert (another evaluation opened it first)."""
        fp = alert["fingerprint"]
        name = self._table.name
        open_item = {
            **fingerprint_key(fp),
            **{k: alert[k] for k in ("fingerprint", "alert_id", "rule_id", "severity", "labels")},
            "status": "firing",
            "pending": True,
            "gsi1pk": "OPEN",
            "gsi1sk": fp,
        }
        alert_item = {
            **alert_key(alert["alert_id"]),
            **{k: v for k, v in alert.items() if v is not None},
            "value": _number(value),
            "gsi1pk": "ALERTS",
            "gsi1sk": f"{alert['started_at']}#{alert['alert_id']}",
        }
        items = [
            {
                "Put": {
                    "TableName": name,
                    "Item": _wire(open_item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": name,
                    "Item": _wire(alert_item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        details = {
            "rule_id": alert["rule_id"],
            "fingerprint": fp,
            "severity": alert["severity"],
            "value": str(value),
        }
        return self._write(items, "alert.fired", EVALUATOR, f"alert:{alert['alert_id']}", details)

    def alert_and_channel(
        self, alert_id: str, channel_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Both items in one BatchGetItem (consistent reads); None for one that is gone."""
        keys = [_wire(alert_key(alert_id)), _wire(channel_key(channel_id))]
        request: dict[str, Any] = {self._table.name: {"Keys": keys, "ConsistentRead": True}}
        found: dict[str, dict[str, Any]] = {}
        for _ in range(5):  # unprocessed keys (throttling) are asked for again
            response = self._table.meta.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table.name, []):
                found[item["pk"]] = plain(item)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("BatchGetItem left keys unprocessed five times")
        return found.get(f"ALERT#{alert_id}"), found.get(f"CHANNEL#{channel_id}")

    def get_channel(self, channel_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=channel_key(channel_id), ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def get_alert(self, alert_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key=alert_key(alert_id), ConsistentRead=True).get("Item")
        if item is None:
            raise NotFound(f"no alert {alert_id}")
        return plain(item)  # type: ignore[no-any-return]

    def alert_with_deliveries(self, alert_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The alert and its notification log, in one query."""
        items = list(
            all_items(self._table.query, KeyConditionExpression=Key("pk").eq(f"ALERT#{alert_id}"))
        )
        alert = next((item for item in items if item["sk"] == "ALERT"), None)
        if alert is None:
            raise NotFound(f"no alert {alert_id}")
        return alert, [item for item in items if item["sk"].startswith("DELIVERY#")]

    def list_alerts(
        self, status: str | None, limit: int, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        start = decode_page_token(next_token, {"gsi1pk": "ALERTS"}, GSI_KEYS)
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq("ALERTS"),
            "ScanIndexForward": False,
        }
        if status:
            kwargs["FilterExpression"] = Attr("status").eq(status)
        while True:
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._table.query(Limit=limit - len(found), **kwargs)
            found.extend(plain(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start or len(found) >= limit:
                return found, encode_page_token(start)

    def transition(
        self, alert_id: str, fingerprint: str, to: str, now: str, *, actor: str = EVALUATOR
    ) -> bool:
        """``firing`` → ``acknowledged``, or either → ``resolved``, with the fingerprint's item
        (resolving deletes it, so the condition, if it still holds, fires a new alert) and the
        ``alert.acknowledged`` or ``alert.resolved`` entry; False if the alert was no longer
        in a state to move from (another request moved it), and then nothing was written."""
        allowed = ["firing"] if to == "acknowledged" else ["firing", "acknowledged"]
        stamp = "acknowledged_at" if to == "acknowledged" else "resolved_at"
        name = self._table.name
        update_alert = {
            "Update": {
                "TableName": name,
                "Key": _wire(alert_key(alert_id)),
                "UpdateExpression": f"SET #s = :to, {stamp} = :now",
                "ConditionExpression": "#s IN (:a, :b)",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": _wire(
                    {":to": to, ":now": now, ":a": allowed[0], ":b": allowed[-1]}
                ),
            }
        }
        fp_key = _wire(fingerprint_key(fingerprint))
        same_alert = {":id": alert_id}
        if to == "resolved":
            fp_change: dict[str, Any] = {
                "Delete": {
                    "TableName": name,
                    "Key": fp_key,
                    "ConditionExpression": "attribute_not_exists(pk) OR alert_id = :id",
                    "ExpressionAttributeValues": same_alert,
                }
            }
        else:
            fp_change = {
                "Update": {
                    "TableName": name,
                    "Key": fp_key,
                    "UpdateExpression": "SET #s = :to",
                    "ConditionExpression": "alert_id = :id",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {**same_alert, ":to": to},
                }
            }
        action = "alert.acknowledged" if to == "acknowledged" else "alert.resolved"
        details = {"fingerprint": fingerprint}
        # False: another request or evaluation moved it first.
        return self._write([update_alert, fp_change], action, actor, f"alert:{alert_id}", details)

    def notified(self, fingerprint: str) -> None:
        """The firing notifications of the fingerprint's alert are queued."""
        try:
            self._table.update_item(
                Key=fingerprint_key(fingerprint),
                UpdateExpression="REMOVE pending",
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):  # resolved meanwhile: nothing to mark
                raise

    # --- lists ------------------------------------------------------------------------

    def _list(self, kind: str) -> Iterator[dict[str, Any]]:
        return all_items(
            self._table.query, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(kind)
        )


def rule_from_item(item: Mapping[str, Any]) -> Rule:
    return Rule(
        rule_id=item["rule_id"],
        name=item["name"],
        metric=item["metric"],
        comparison=item["comparison"],
        threshold=float(item["threshold"]),
        window_minutes=int(item["window_minutes"]),
        severity=item["severity"],
        summary=item["summary"],
        labels=item.get("labels") or {},
        runbook_url=item.get("runbook_url"),
        created_at=item.get("created_at", ""),
    )


def _number(value: float) -> Decimal:
    return Decimal(str(value))


def _wire(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item for the table's own client (``table.meta.client``), which serializes plain
    values itself but, as DynamoDB, takes no float."""
    return {k: _decimals(v) for k, v in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
