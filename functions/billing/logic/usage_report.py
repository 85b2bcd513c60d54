"""Reporting one usage record to Stripe Billing Meters: at most once in effect, however often
its message arrives."""

from __future__ import annotations

from typing import Literal, Protocol

from cognitionos.usage import UsageRecord

# reported: Stripe counted it now; held_by_stripe: Stripe already had its identifier (an
# earlier attempt got through but was not marked); already_reported: marked, no call made.
ReportOutcome = Literal["reported", "held_by_stripe", "already_reported"]


class UsageRecordMissing(LookupError):
    """A queued usage id has no record: the message goes back, then to the DLQ."""


class UsageRecords(Protocol):
    def get(self, usage_id: str) -> UsageRecord | None: ...

    def mark_reported(self, usage_id: str, reported_at: int) -> bool: ...


class MeterEvents(Protocol):
    def send(self, record: UsageRecord, idempotency_key: str) -> bool:
        """Post the meter event; False if Stripe already held its identifier."""
        ...


def attempt_key(usage_id: str, message_id: str, receive_count: int) -> str:
    """Stripe's idempotency key for one delivery attempt of one message.

    Stripe v1 replays the saved response of a key, 500s included, for 24 h, so a key shared
    by every attempt would turn one 500 into five and a DLQ. The SDK's own retries inside an
    attempt reuse this key; across attempts the meter event ``identifier`` (the usage id)
    is what keeps Stripe from counting a record twice.
    """
    return f"{usage_id}:{message_id}:{receive_count}"


def report_usage(
    usage_id: str,
    idempotency_key: str,
    records: UsageRecords,
    meter_events: MeterEvents,
    now: int,
) -> ReportOutcome:
    """Skip a reported record; else post its meter event, then mark it reported."""
    record = records.get(usage_id)
    if record is None:
        raise UsageRecordMissing(f"no usage record {usage_id}")
    if record.status == "reported":
        return "already_reported"
    counted_now = meter_events.send(record, idempotency_key)
    records.mark_reported(usage_id, now)
    return "reported" if counted_now else "held_by_stripe"
