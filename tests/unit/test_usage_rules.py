"""Usage metering rules: what record_usage accepts, the deterministic Stripe identifier, and
reporting one record at most once in effect."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from billing.logic.usage_report import UsageRecordMissing, attempt_key, report_usage
from billing.models.usage import UsageReportMessage
from cognitionos.errors import Unprocessable
from cognitionos.usage import InvalidUsage, UsageRecord, usage_id, usage_message, validated_usage

NOW = 1_750_000_000
DAY = 24 * 3600


def valid(**changes: object) -> UsageRecord:
    args: dict[str, object] = {
        "tenant": "cus_Q1",
        "meter": "agent_tokens",
        "value": 120,
        "identifier": "run_1:step_2",
        "timestamp": None,
    }
    args.update(changes)
    return validated_usage(current=NOW, **args)  # type: ignore[arg-type]


def test_a_valid_call_becomes_a_pending_record_dated_now_by_default() -> None:
    record = valid()
    assert (record.tenant, record.meter, record.value, record.timestamp) == (
        "cus_Q1",
        "agent_tokens",
        120,
        NOW,
    )
    assert record.status == "pending"
    assert record.usage_id == usage_id("cus_Q1", "agent_tokens", "run_1:step_2")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"tenant": "acct_1"}, "tenant must be a Stripe customer id"),
        ({"tenant": ""}, "tenant must be a Stripe customer id"),
        ({"meter": ""}, "meter must be a Stripe meter event_name"),
        ({"meter": "tokens used"}, "meter must be a Stripe meter event_name"),
        ({"meter": "m" * 101}, "meter must be a Stripe meter event_name"),
        ({"value": 0}, "value must be a positive integer"),
        ({"value": -3}, "value must be a positive integer"),
        ({"value": 1.5}, "value must be a positive integer"),
        ({"value": True}, "value must be a positive integer"),
        ({"value": "5"}, "value must be a positive integer"),
        ({"identifier": ""}, "identifier must be 1-100 characters"),
        ({"identifier": "i" * 101}, "identifier must be 1-100 characters"),
        ({"timestamp": NOW - 36 * DAY}, "within the past 35 days"),
        ({"timestamp": NOW + 301}, "at most 5 minutes ahead"),
        ({"timestamp": "yesterday"}, "timestamp must be Unix seconds"),
    ],
)
def test_bad_input_is_refused_with_an_error_naming_the_argument(
    changes: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidUsage, match=named) as refused:
        valid(**changes)
    # A ValueError for library callers, a 422 where an API passes it through.
    assert isinstance(refused.value, ValueError)
    assert isinstance(refused.value, Unprocessable)


def test_the_edges_of_stripes_time_window_are_accepted() -> None:
    assert valid(timestamp=NOW - 35 * DAY).timestamp == NOW - 35 * DAY
    assert valid(timestamp=NOW + 300).timestamp == NOW + 300


def test_the_stripe_identifier_is_deterministic_short_and_distinct_per_key() -> None:
    first = usage_id("cus_Q1", "agent_tokens", "run_1")
    assert first == usage_id("cus_Q1", "agent_tokens", "run_1")
    assert first.startswith("usage_") and len(first) <= 100
    others = {
        usage_id("cus_Q2", "agent_tokens", "run_1"),
        usage_id("cus_Q1", "agent_calls", "run_1"),
        usage_id("cus_Q1", "agent_tokens", "run_2"),
        usage_id("cus_Q1", "agent_tokens\nrun_1", ""),  # no ambiguity across the parts
    }
    assert first not in others and len(others) == 4


def test_the_queue_message_carries_only_the_id_and_parses_back() -> None:
    record = valid()
    body = usage_message(record.usage_id)
    assert UsageReportMessage.model_validate_json(body).usage_id == record.usage_id
    assert "cus_Q1" not in body


@pytest.mark.parametrize("body", ['{"usage_id": "usage_xyz"}', "{}", "not json", '{"usage_id": 1}'])
def test_a_malformed_message_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        UsageReportMessage.model_validate_json(body)


def test_each_delivery_attempt_gets_its_own_idempotency_key() -> None:
    keys = {
        attempt_key("usage_a", "m-1", 1),
        attempt_key("usage_a", "m-1", 2),
        attempt_key("usage_a", "m-2", 1),
    }
    assert len(keys) == 3
    assert attempt_key("usage_a", "m-1", 1) == attempt_key("usage_a", "m-1", 1)


class MemoryRecords:
    def __init__(self, *records: UsageRecord) -> None:
        self.records = {r.usage_id: r for r in records}

    def get(self, usage_id: str) -> UsageRecord | None:
        return self.records.get(usage_id)

    def mark_reported(self, usage_id: str, reported_at: int) -> bool:
        before = self.records[usage_id]
        self.records[usage_id] = replace(before, status="reported")
        return before.status != "reported"


class MemoryStripe:
    def __init__(self, *, holds: set[str] | None = None, fails: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.holds = holds or set()
        self.fails = fails

    def send(self, record: UsageRecord, idempotency_key: str) -> bool:
        if self.fails:
            raise RuntimeError("stripe is down")
        self.sent.append((record.usage_id, idempotency_key))
        return record.usage_id not in self.holds


def test_a_pending_record_is_sent_then_marked_reported() -> None:
    record = valid()
    records, stripe = MemoryRecords(record), MemoryStripe()
    assert report_usage(record.usage_id, "k1", records, stripe, NOW) == "reported"
    assert stripe.sent == [(record.usage_id, "k1")]
    assert records.records[record.usage_id].status == "reported"


def test_a_reported_record_is_not_sent_again() -> None:
    record = replace(valid(), status="reported")
    stripe = MemoryStripe()
    outcome = report_usage(record.usage_id, "k2", MemoryRecords(record), stripe, NOW)
    assert (outcome, stripe.sent) == ("already_reported", [])


def test_a_record_stripe_already_holds_is_marked_without_being_counted_again() -> None:
    record = valid()
    records = MemoryRecords(record)
    stripe = MemoryStripe(holds={record.usage_id})
    assert report_usage(record.usage_id, "k3", records, stripe, NOW) == "held_by_stripe"
    assert records.records[record.usage_id].status == "reported"


def test_a_stripe_failure_leaves_the_record_pending_for_the_retry() -> None:
    record = valid()
    records = MemoryRecords(record)
    with pytest.raises(RuntimeError, match="stripe is down"):
        report_usage(record.usage_id, "k4", records, MemoryStripe(fails=True), NOW)
    assert records.records[record.usage_id].status == "pending"


def test_a_message_without_its_record_fails_loudly() -> None:
    with pytest.raises(UsageRecordMissing, match="no usage record usage_"):
        report_usage(valid().usage_id, "k5", MemoryRecords(), MemoryStripe(), NOW)
