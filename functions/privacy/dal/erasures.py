"""Carrying out an erasure in every store, then the verification scan.

Each step is idempotent (a delete of what is gone, a SET of the same pseudonym), so a
redelivered erasure that ran halfway finishes the job without doing anything twice. Order
matters once: personal values are read (into memory only, for the scan) before anything is
deleted, and the data key is destroyed after the stores are cleaned, so that nothing still
being erased needs it, and before the scan, so that the scan sees the final state.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cognitionos.aws import client
from cognitionos.mrr_feed import SET_SK, feed_index_keys
from privacy.dal.exports import ExportFiles, Keyring, SubjectRecords
from privacy.dal.store_scan import StoredRecord
from privacy.logic.erasures import Hit, Needles, ScanResult, classify, hits_in
from privacy.logic.retention import record_retained_until

PSEUDONYMISED_KINDS = {"invoice": "invoices", "charge": "payments", "dispute": "payments"}
DELETED_KINDS = {
    "customer": "customer",
    "subscription": "subscriptions",
    "discount": "subscriptions",
    "checkout_session": "subscriptions",
    "dunning_case": "dunning_emails",
}
INVOICE_BASIS = "tax and commercial record keeping (HGB §257, AO §147): pseudonymised"
EVENT_BASIS = (
    "exactly-once processing: a redelivered Stripe event must stay a duplicate (no payload "
    "is stored): pseudonymised"
)
FILE_ERASED = "the export file was deleted when its subject was erased"
REVENUE_BASIS = "revenue reporting (legitimate interest): amounts and dates, pseudonymised"
USAGE_BASIS = "billing of metered usage (contract): pseudonymised, deleted by its TTL"


@dataclass
class ErasureOutcome:
    erased: Counter[str] = field(default_factory=Counter)
    # category -> (basis, until ISO or None, count)
    retained: dict[str, list[Any]] = field(default_factory=dict)

    def keep(self, category: str, basis: str, until: str | None) -> None:
        entry = self.retained.setdefault(category, [basis, until, 0])
        entry[2] += 1
        if until and (entry[1] is None or until > entry[1]):
            entry[1] = until  # the latest date any of them is kept to

    def retained_list(self) -> list[dict[str, Any]]:
        return [
            {"category": c, "basis": b, "until": u, "count": n}
            for c, (b, u, n) in sorted(self.retained.items())
        ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Eraser:
    def __init__(
        self,
        records: SubjectRecords,
        keyring: Keyring,
        now: Callable[[], datetime],
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._records = records
        self._keyring = keyring
        self._now = now
        self._clock_ms = clock_ms

    def erase(self, customer_id: str, pseudonym: str, email: str | None) -> ErasureOutcome:
        """Delete or pseudonymise everything of the subject, in every store (key not yet
        destroyed: ``destroy_key`` after)."""
        out = ErasureOutcome()
        self._billing(customer_id, pseudonym, out)
        self._history(customer_id, pseudonym, out)
        self._revenue(customer_id, pseudonym, out)
        self._agents(customer_id, out)
        self._alerts(email, out)
        self._usage(customer_id, pseudonym, out)
        self._metrics(customer_id, out)
        self._buckets(customer_id, out)
        consents = self._records.consents(customer_id)
        for _ in consents:
            out.keep("consents", "proof of consent (Art. 7(1)); sealed fields shredded", None)
        for _ in self._records.audit_entries(customer_id):
            out.keep(
                "audit",
                "accountability (Art. 5(2), 30): immutable, ids only; the hash chain stays "
                "verifiable",
                None,
            )
        return out

    def destroy_key(self, customer_id: str) -> None:
        self._keyring.destroy(customer_id)

    # --- billing ---------------------------------------------------------------------

    def _billing(self, customer_id: str, pseudonym: str, out: ErasureOutcome) -> None:
        table = self._records.billing
        for item in self._records.billing_items(customer_id):
            key = {"pk": item["pk"], "sk": item["sk"]}
            kind = str(item.get("kind") or "")
            if str(item["pk"]).startswith("EVENT#"):
                # A customer event's object is the customer: its id goes too.
                names_object = item.get("object_id") == customer_id
                self._pseudonymise(key, pseudonym, None, object_id=names_object)
                expires = item.get("expires_at")
                until = datetime.fromtimestamp(int(expires), UTC) if expires else None
                out.keep("billing_events", EVENT_BASIS, _iso(until) if until else None)
            elif kind in PSEUDONYMISED_KINDS:
                period_end = item.get("period_end")
                until = record_retained_until(
                    int(item["created"]) if item.get("created") else None,
                    int(period_end) if isinstance(period_end, int | float) else None,
                    self._now(),
                )
                self._pseudonymise(key, pseudonym, int(until.timestamp()))
                out.keep(PSEUDONYMISED_KINDS[kind], INVOICE_BASIS, _iso(until))
                if kind == "invoice":
                    self._delete_dunning_case(str(item["id"]), out)
            else:
                gone = table.delete_item(Key=key, ReturnValues="ALL_OLD")
                if gone.get("Attributes"):  # not already deleted (by a dunning case's invoice)
                    out.erased[DELETED_KINDS.get(kind, "billing_other")] += 1

    def _delete_dunning_case(self, invoice_id: str, out: ErasureOutcome) -> None:
        """An invoice's dunning case, also one closed before any failure (a tombstone, which
        no index lists): it names the customer and the emails sent."""
        gone = self._records.billing.delete_item(
            Key={"pk": f"DUNNING#{invoice_id}", "sk": "CASE"}, ReturnValues="ALL_OLD"
        )
        if gone.get("Attributes"):
            out.erased["dunning_emails"] += 1

    def _pseudonymise(
        self, key: dict[str, Any], pseudonym: str, expires_at: int | None, object_id: bool = False
    ) -> None:
        names = {"#c": "customer_id"}
        values: dict[str, Any] = {":p": pseudonym}
        expression = "SET #c = :p"
        if object_id:
            names["#o"] = "object_id"
            expression += ", #o = :p"
        if expires_at is not None:
            names["#e"] = "expires_at"
            values[":e"] = expires_at
            expression += ", #e = :e"
        self._records.billing.update_item(
            Key=key,
            UpdateExpression=expression + " REMOVE gsi3pk, gsi3sk",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(pk)",
        )

    def _history(self, customer_id: str, pseudonym: str, out: ErasureOutcome) -> None:
        """Versions and ties deleted; the MRR record set moved under the pseudonym (and so
        re-published in the feed under it), so revenue's totals stay what they were."""
        table = self._records.billing
        for item in self._records.history_items(customer_id):
            key = {"pk": item["pk"], "sk": item["sk"]}
            if item["sk"] == SET_SK:
                recorded_ms = self._clock_ms()
                moved = {
                    **{k: v for k, v in item.items() if k not in ("feed_pk", "feed_sk")},
                    "pk": f"HISTORY#{pseudonym}",
                    "customer_id": pseudonym,
                    "recorded_at": recorded_ms,
                    **feed_index_keys(recorded_ms, pseudonym),
                }
                table.put_item(Item=_dynamo(moved))
                for coupon in item.get("awaiting_coupons") or []:
                    table.delete_item(
                        Key={"pk": f"COUPON#{coupon}", "sk": f"AWAITING#{customer_id}"}
                    )
                out.keep("revenue", REVENUE_BASIS, None)
            else:
                out.erased["billing_history"] += 1
            table.delete_item(Key=key)

    def _revenue(self, customer_id: str, pseudonym: str, out: ErasureOutcome) -> None:
        item = self._records.revenue_item(customer_id)
        if item is None:
            return
        table = self._records.revenue
        table.put_item(Item={**item, "pk": f"CUSTOMER#{pseudonym}"})
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        out.keep("revenue", REVENUE_BASIS, None)

    # --- agents, alerts, usage ---------------------------------------------------------

    def _agents(self, customer_id: str, out: ErasureOutcome) -> None:
        table = self._records.agents
        for run in self._records.agent_runs(customer_id):
            for item in run:
                table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            out.erased["agent_runs"] += 1
        for item in self._records.agent_memory(customer_id):
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            out.erased["agent_memory"] += 1

    def _alerts(self, email: str | None, out: ErasureOutcome) -> None:
        """The subject removed from each email channel's recipients, the config re-sealed
        under the channel's own key. A channel left with no recipient sends nothing."""
        wanted = (email or "").strip().casefold()
        for item, config in self._records.alert_channels_naming(email):
            channel_id = str(item["channel_id"])
            kept = [to for to in config.get("to") or [] if str(to).strip().casefold() != wanted]
            sealed = self._keyring.encrypt(channel_id, "config", json.dumps({**config, "to": kept}))
            self._records.alerts.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET config_sealed = :c",
                ExpressionAttributeValues={":c": sealed},
                ConditionExpression="attribute_exists(pk)",
            )
            out.erased["alert_emails"] += 1

    def _usage(self, customer_id: str, pseudonym: str, out: ErasureOutcome) -> None:
        for item in self._records.usage_items(customer_id):
            self._records.usage.update_item(
                Key={"usage_id": item["usage_id"]},
                UpdateExpression="SET tenant = :p",
                ExpressionAttributeValues={":p": pseudonym},
            )
            until = item.get("expires_at")
            out.keep(
                "usage",
                USAGE_BASIS,
                _iso(datetime.fromtimestamp(int(until), self._now().tzinfo)) if until else None,
            )

    def _metrics(self, customer_id: str, out: ErasureOutcome) -> None:
        """Business metrics labelled with the tenant (the billing.mrr gauge): deleted; the
        totals over every tenant are other items and stay."""
        for item in self._records.metrics_naming(customer_id):
            self._records.metrics.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            out.erased["metrics"] += 1

    def _buckets(self, customer_id: str, out: ErasureOutcome) -> None:
        """Parked event bodies and earlier exports that name the subject: deleted."""
        stores = self._records.stores
        from privacy.dal.store_scan import StoreScanner  # noqa: PLC0415  # only erasures scan

        scanner = StoreScanner({}, {})
        for category, bucket in (
            ("event_bodies", stores.event_bodies_bucket),
            ("exports", stores.exports_bucket),
        ):
            for record in scanner.bucket_records(category, bucket):
                if customer_id in record.text:
                    client("s3").delete_object(Bucket=bucket, Key=record.key)
                    out.erased[category] += 1
        for request in self._records.export_requests_of(customer_id):
            # Their files are gone: the requests say so instead of signing a dead URL.
            self._records.privacy.update_item(
                Key={"pk": request["pk"], "sk": request["sk"]},
                UpdateExpression="SET #r = :r REMOVE object_key",
                ExpressionAttributeNames={"#r": "reason"},
                ExpressionAttributeValues={":r": FILE_ERASED},
            )


def verify(
    records: Iterable[StoredRecord], needles: Needles, plaintext_checked: bool
) -> ScanResult:
    """Every stored record searched for the subject's ids and plaintext, hits classified."""
    hits: list[Hit] = []
    scanned = 0
    for record in records:
        scanned += 1
        hit = hits_in(record.store, record.key, record.text, needles)
        if hit is not None:
            hits.append(hit)
    return classify(hits, scanned, plaintext_checked)


def _dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """Plain numbers back to what the resource layer stores (floats are not allowed)."""
    from decimal import Decimal  # noqa: PLC0415

    def convert(value: Any) -> Any:
        if isinstance(value, float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: convert(v) for k, v in item.items()}


__all__ = ["Eraser", "ErasureOutcome", "ExportFiles", "verify"]
