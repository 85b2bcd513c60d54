"""Everything stored about one subject, read from every context's table, and the export file.

The privacy worker is the one function that reads other contexts' items directly (its
topology entry names each action): it knows their key shapes as their DAL modules document
them (billing: gsi3 ``CUSTOMER#<id>``, ``HISTORY#<id>``, the ``customer-email`` index; agents:
``RUN#<id>`` items with ``tenant_id``, ``MEMORY#<tenant>``; alerts: gsi1 ``CHANNELS``; revenue:
``CUSTOMER#<id>`` / ``RECORDS``; usage: ``tenant``; audit: ``tenant_id`` and ``resource``;
privacy: ``CONSENT#<id>``). Sealed fields are opened with the subject's data key, under the
field names their writers used, so an export shows values, not ciphertext.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from boto3.dynamodb.conditions import Attr, Key

from cognitionos.aws import client, dynamodb_table
from cognitionos.crypto import FORMAT_VERSION, InvalidToken, SubjectErased
from cognitionos.dynamodb import all_items
from privacy.logic.exports import KIND_CATEGORIES

SEALED_PREFIX = f"{FORMAT_VERSION}."  # how every sealed value begins
EMAIL_INDEX = "customer-email"


class Keyring(Protocol):
    def encrypt(self, subject_id: str, field: str, plaintext: str) -> str: ...
    def decrypt(self, subject_id: str, field: str, token: str) -> str: ...
    def destroy(self, subject_id: str) -> None: ...


@dataclass(frozen=True)
class Stores:
    """The physical names the worker reads and writes (from its settings)."""

    billing: str
    agents: str
    alerts: str
    revenue: str
    usage: str
    audit: str
    privacy: str
    metrics: str
    exports_bucket: str
    event_bodies_bucket: str


def opened(keyring: Keyring, subject: str, field: str, token: Any) -> Any:
    """The plaintext of a sealed value; None once the subject is erased; the value itself
    when it is not a token (or not this field's)."""
    if not isinstance(token, str) or not token.startswith(SEALED_PREFIX):
        return token
    try:
        return keyring.decrypt(subject, field, token)
    except SubjectErased:
        return None
    except InvalidToken:
        return token


class SubjectRecords:
    """Reads a subject's records everywhere; ``keyring`` opens their sealed fields."""

    def __init__(self, stores: Stores, keyring: Keyring) -> None:
        self.stores = stores
        self._keyring = keyring
        self.billing = dynamodb_table(stores.billing)
        self.agents = dynamodb_table(stores.agents)
        self.alerts = dynamodb_table(stores.alerts)
        self.revenue = dynamodb_table(stores.revenue)
        self.usage = dynamodb_table(stores.usage)
        self.audit = dynamodb_table(stores.audit)
        self.privacy = dynamodb_table(stores.privacy)
        self.metrics = dynamodb_table(stores.metrics)

    # --- finding the subject -----------------------------------------------------------

    def customer_by_email(self, email_bidx: str) -> str | None:
        """The customer whose email has this blind index (the customer-email index)."""
        for item in all_items(
            self.billing.query,
            IndexName=EMAIL_INDEX,
            KeyConditionExpression=Key("email_bidx").eq(email_bidx),
        ):
            return str(item["id"])
        return None

    def personal_of(self, customer_id: str) -> tuple[str | None, str | None, str | None]:
        """(email, name, email blind index) of the customer, read before an erasure."""
        item = self.billing.get_item(
            Key={"pk": f"CUSTOMER#{customer_id}", "sk": "STATE"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None, None, None
        email = opened(self._keyring, customer_id, "email", item.get("email_enc"))
        name = opened(self._keyring, customer_id, "name", item.get("name_enc"))
        bidx = item.get("email_bidx")
        return (
            email if isinstance(email, str) and not email.startswith(SEALED_PREFIX) else None,
            name if isinstance(name, str) and not name.startswith(SEALED_PREFIX) else None,
            str(bidx) if bidx else None,
        )

    # --- the raw items, by store -------------------------------------------------------

    def billing_items(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's items on gsi3 (state, dunning cases, events), consistent-read again."""
        return list(
            all_items(
                self.billing.query,
                IndexName="gsi3",
                KeyConditionExpression=Key("gsi3pk").eq(f"CUSTOMER#{customer_id}"),
            )
        )

    def history_items(self, customer_id: str) -> list[dict[str, Any]]:
        return list(
            all_items(
                self.billing.query,
                KeyConditionExpression=Key("pk").eq(f"HISTORY#{customer_id}"),
                ConsistentRead=True,
            )
        )

    def revenue_item(self, customer_id: str) -> dict[str, Any] | None:
        item = self.revenue.get_item(
            Key={"pk": f"CUSTOMER#{customer_id}", "sk": "RECORDS"}, ConsistentRead=True
        ).get("Item")
        return dict(item) if item else None

    def agent_runs(self, customer_id: str) -> list[list[dict[str, Any]]]:
        """Each of the tenant's runs as all its items (the run first). No index lists a
        tenant's runs: a filtered Scan finds them (the worker may scan every table)."""
        runs = all_items(
            self.agents.scan,
            FilterExpression=Attr("tenant_id").eq(customer_id) & Attr("sk").eq("RUN"),
            ConsistentRead=True,
        )
        found = []
        for run in runs:
            items = list(
                all_items(
                    self.agents.query,
                    KeyConditionExpression=Key("pk").eq(str(run["pk"])),
                    ConsistentRead=True,
                )
            )
            items.sort(key=lambda i: i["sk"] != "RUN")
            found.append(items)
        return found

    def agent_memory(self, customer_id: str) -> list[dict[str, Any]]:
        return list(
            all_items(
                self.agents.query,
                KeyConditionExpression=Key("pk").eq(f"MEMORY#{customer_id}"),
                ConsistentRead=True,
            )
        )

    def alert_channels_naming(
        self, email: str | None
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Email channels with the subject among their recipients: (item, opened config)."""
        if not email:
            return []
        wanted = email.strip().casefold()
        found = []
        for item in all_items(
            self.alerts.query,
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq("CHANNELS"),
        ):
            if item.get("type") != "email":
                continue
            config_text = opened(
                self._keyring, str(item["channel_id"]), "config", item.get("config_sealed")
            )
            if not isinstance(config_text, str) or config_text.startswith(SEALED_PREFIX):
                continue
            config = json.loads(config_text)
            if any(str(to).strip().casefold() == wanted for to in config.get("to") or []):
                found.append((item, config))
        return found

    def usage_items(self, customer_id: str) -> list[dict[str, Any]]:
        return list(all_items(self.usage.scan, FilterExpression=Attr("tenant").eq(customer_id)))

    def audit_entries(self, customer_id: str) -> list[dict[str, Any]]:
        """Entries about the subject: its tenant chain's, and any whose resource names it."""
        return list(
            all_items(
                self.audit.scan,
                FilterExpression=Attr("tenant_id").eq(customer_id)
                | Attr("resource").contains(customer_id),
            )
        )

    def metrics_naming(self, customer_id: str) -> list[dict[str, Any]]:
        """Metric items labelled with the tenant (``...tenant_id=<id>`` in the sort key)."""
        return list(
            all_items(
                self.metrics.scan,
                FilterExpression=Attr("sk").contains(f"tenant_id={customer_id}"),
            )
        )

    def export_requests_of(self, customer_id: str) -> list[dict[str, Any]]:
        """Completed exports of the customer that still name their file (a filtered Scan:
        requests are few, and no index lists them by subject)."""
        return list(
            all_items(
                self.privacy.scan,
                FilterExpression=Attr("kind").eq("export")
                & Attr("object_key").exists()
                & (
                    Attr("subject_customer_id").eq(customer_id)
                    | Attr("customer_id").eq(customer_id)
                ),
            )
        )

    def consents(self, customer_id: str) -> list[dict[str, Any]]:
        return list(
            all_items(
                self.privacy.query,
                KeyConditionExpression=Key("pk").eq(f"CONSENT#{customer_id}"),
                ConsistentRead=True,
            )
        )

    # --- the export --------------------------------------------------------------------

    def collect(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every category's records of the subject, sealed fields opened."""
        email, _, _ = self.personal_of(customer_id)
        data: dict[str, list[dict[str, Any]]] = {}

        def add(category: str, record: dict[str, Any]) -> None:
            data.setdefault(category, []).append(record)

        for item in self.billing_items(customer_id):
            kind = str(item.get("kind") or "")
            if str(item["pk"]).startswith("EVENT#"):
                kind = "event"
            category = KIND_CATEGORIES.get(kind, "billing_history")
            add(category, self._billing_record(customer_id, item))
        for item in self.history_items(customer_id):
            add("billing_history", _without_index_keys(item))
        revenue = self.revenue_item(customer_id)
        if revenue:
            add("revenue", _without_index_keys(revenue))
        for consent in self.consents(customer_id):
            add("consents", self._opened_all(customer_id, consent))
        for run in self.agent_runs(customer_id):
            add("agent_runs", self._run_record(customer_id, run))
        for memory in self.agent_memory(customer_id):
            add(
                "agent_memory",
                {
                    "key": memory["sk"],
                    "text": opened(self._keyring, customer_id, "memory", memory.get("text")),
                },
            )
        for channel, config in self.alert_channels_naming(email):
            add(
                "alert_emails",
                {
                    "channel_id": channel["channel_id"],
                    "type": channel["type"],
                    "name": channel.get("name"),
                    "recipient": next(
                        to
                        for to in config["to"]
                        if str(to).strip().casefold() == str(email).strip().casefold()
                    ),
                },
            )
        for usage in self.usage_items(customer_id):
            add("usage", _without_index_keys(usage))
        for entry in self.audit_entries(customer_id):
            add("audit", self._audit_record(entry))
        return data

    def _billing_record(self, customer_id: str, item: dict[str, Any]) -> dict[str, Any]:
        record = _without_index_keys(item)
        record.pop("email_bidx", None)
        for name in [k for k in record if k.endswith("_enc")]:
            field = name.removesuffix("_enc")
            record[field] = opened(self._keyring, customer_id, field, record.pop(name))
        return record

    def _opened_all(self, subject: str, item: dict[str, Any]) -> dict[str, Any]:
        """A record whose sealed fields are named like their attribute (``x`` or ``x_enc``)."""
        record = _without_index_keys(item)
        for name, value in list(record.items()):
            if isinstance(value, str) and value.startswith(SEALED_PREFIX):
                field = name.removesuffix("_enc").removesuffix("_sealed")
                record[name] = opened(self._keyring, subject, field, value)
        return record

    def _run_record(self, subject: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        run, rest = items[0], items[1:]
        record = _without_index_keys(run)
        for name in ("goal", "feedback", "result"):
            if name in record:
                record[name] = opened(self._keyring, subject, name, record[name])
        for task in record.get("tasks") or []:
            task_id = task.get("task_id")
            task["description"] = opened(
                self._keyring, subject, f"task:{task_id}", task.get("description")
            )
        outputs: dict[str, Any] = {}
        summaries: dict[str, Any] = {}
        for item in rest:
            sk = str(item["sk"])
            if sk.startswith("OUT#"):
                task_id = sk.removeprefix("OUT#")
                outputs[task_id] = opened(
                    self._keyring, subject, f"output:{task_id}", item.get("output")
                )
            elif sk.startswith("SUMMARY#"):
                key = sk.removeprefix("SUMMARY#")
                summaries[key] = opened(self._keyring, subject, f"summary:{key}", item.get("text"))
        record["outputs"] = outputs
        record["summaries"] = summaries
        record["steps_stored"] = sum(1 for i in rest if str(i["sk"]).startswith("STEP#"))
        return record

    def _audit_record(self, entry: dict[str, Any]) -> dict[str, Any]:
        record = _without_index_keys(entry)
        sealed = record.pop("sealed", None) or {}
        owner = record.get("subject")
        if sealed and owner:
            record["personal"] = {
                name: opened(self._keyring, str(owner), f"audit.{name}", token)
                for name, token in sealed.items()
            }
        return record


INDEX_KEYS = frozenset(
    {"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "feed_pk", "feed_sk"}
)


def _without_index_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INDEX_KEYS}


def export_key(request_id: str) -> str:
    return f"exports/{request_id}.json"


class ExportFiles:
    """The privacy-exports bucket: one JSON object per export, encrypted at rest with KMS."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, request_id: str, document: dict[str, Any]) -> str:
        key = export_key(request_id)
        client("s3").put_object(
            Bucket=self._bucket,
            Key=key,
            Body=json.dumps(document, default=str, ensure_ascii=False).encode(),
            ContentType="application/json",
            ServerSideEncryption="aws:kms",  # the bucket's default too: said here, explicitly
        )
        return key

    def download_url(self, key: str, expires_in_s: int) -> str:
        """A presigned GET of the export, valid ``expires_in_s``; signing needs s3:GetObject."""
        return str(
            client("s3").generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in_s
            )
        )

    def keys(self) -> Iterator[str]:
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
            for listed in page.get("Contents", []):
                yield str(listed["Key"])
