"""Claim checks, pure: the size rules, the queue message parser, and resolving a claim check."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from billing.logic.claim_checks import (
    MAX_BODY_BYTES,
    PARK_ABOVE_BYTES,
    ClaimCheckingSender,
    EventBodyMismatch,
    EventBodyMissing,
    claim_check_for,
    claimed_event,
    require_acceptable_size,
)
from billing.logic.envelope import envelope_from
from billing.logic.queued_messages import parse_message
from billing.models.events import ClaimCheck, EventStatus, StripeEventEnvelope
from cognitionos.errors import BadRequest, PayloadTooLarge
from tests.factories import padded, stripe_event, subscription


def envelope(event: dict[str, Any]) -> StripeEventEnvelope:
    return envelope_from(event)


def test_the_cap_and_the_threshold_are_what_the_docs_say() -> None:
    assert (MAX_BODY_BYTES, PARK_ABOVE_BYTES) == (4 * 1024 * 1024, 256 * 1024)
    # The cap's reason: base64 of a capped body still fits Lambda's 6 MB invocation payload.
    assert MAX_BODY_BYTES * 4 / 3 < 6_291_456 - 64 * 1024


def test_a_body_up_to_the_cap_is_acceptable_and_one_byte_more_is_413_naming_the_cap() -> None:
    require_acceptable_size(MAX_BODY_BYTES)
    with pytest.raises(PayloadTooLarge) as refused:
        require_acceptable_size(MAX_BODY_BYTES + 1)
    assert refused.value.status_code == 413
    assert refused.value.message == (
        "the request body is 4194305 bytes; a Stripe webhook may be at most 4194304 bytes (4 MiB)"
    )


def test_an_event_up_to_the_threshold_is_queued_as_it_is_and_a_larger_one_is_parked() -> None:
    at = padded(stripe_event("customer.subscription.created", subscription()), PARK_ABOVE_BYTES)
    over = padded(at, PARK_ABOVE_BYTES + 1)
    assert claim_check_for(envelope(at), json.dumps(at).encode()) is None
    data = json.dumps(over).encode()
    claim = claim_check_for(envelope(over), data)
    assert claim == ClaimCheck(
        event_id=over["id"],
        key=f"stripe-events/{over['id']}.json",
        bytes=PARK_ABOVE_BYTES + 1,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_the_threshold_counts_utf8_bytes_not_characters() -> None:
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    event["data"]["object"]["name"] = "é" * (PARK_ABOVE_BYTES // 2)  # 2 bytes each
    data = json.dumps(event, ensure_ascii=False).encode()
    assert len(data.decode()) < PARK_ABOVE_BYTES < len(data)
    assert claim_check_for(envelope(event), data) is not None


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def put(self, key: str, data: bytes) -> None:
        self.calls.append(("put", key, data.decode()))

    def send(self, event: StripeEventEnvelope, raw_event: str) -> None:
        self.calls.append(("send", event.id, raw_event))


def test_the_sender_parks_a_large_body_before_it_queues_the_claim_check() -> None:
    small = stripe_event("invoice.paid", {"id": "in_1", "object": "invoice", "customer": "c"})
    large = padded(small | {"id": "evt_large"}, PARK_ABOVE_BYTES + 10)
    recorder = Recorder()
    sender = ClaimCheckingSender(queue=recorder, bodies=recorder)

    sender.send(envelope(small), json.dumps(small))
    sender.send(envelope(large), json.dumps(large))

    [(kind, _, raw), put, queued] = recorder.calls
    assert (kind, raw) == ("send", json.dumps(small))
    assert put == ("put", "stripe-events/evt_large.json", json.dumps(large))
    assert queued[:2] == ("send", "evt_large")
    assert ClaimCheck.model_validate_json(queued[2]).key == "stripe-events/evt_large.json"


# --- the queue's messages ---------------------------------------------------------------------


def claim_for(event: dict[str, Any]) -> tuple[ClaimCheck, bytes]:
    data = json.dumps(event).encode()
    return (
        ClaimCheck(
            event_id=event["id"],
            key=f"stripe-events/{event['id']}.json",
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        ),
        data,
    )


def test_a_raw_stripe_event_parses_as_before_and_a_claim_check_as_a_claim_check() -> None:
    event = stripe_event("customer.subscription.created", subscription())
    claim, _ = claim_for(event)
    assert parse_message(json.dumps(event)) == envelope(event)
    assert parse_message(claim.model_dump_json()) == claim


def test_a_claim_check_cannot_be_taken_for_a_stripe_event() -> None:
    claim, _ = claim_for(stripe_event("customer.subscription.created", subscription()))
    with pytest.raises(BadRequest, match="not a Stripe event"):
        envelope_from(json.loads(claim.model_dump_json()))


@pytest.mark.parametrize(
    "body",
    ['{"object": "charge", "id": "ch_1"}', '{"object": ["event"]}', "[1]", '"event"'],
)
def test_any_other_message_goes_the_raw_event_way_and_is_refused(body: str) -> None:
    with pytest.raises(BadRequest, match="not a Stripe event"):
        parse_message(body)


def test_a_malformed_claim_check_is_refused() -> None:
    with pytest.raises(ValueError, match="sha256"):
        parse_message(
            json.dumps(
                {"object": "cognitionos.claim_check", "event_id": "evt_1", "key": "k", "bytes": 1}
            )
        )


# --- resolving a claim check ------------------------------------------------------------------


class Bodies:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)


class Log:
    def __init__(self, status: EventStatus | None) -> None:
        self.logged = status
        self.marked: list[tuple[str, EventStatus, str | None]] = []

    def status(self, event_id: str) -> EventStatus | None:
        return self.logged

    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> bool:
        self.marked.append((event_id, status, error))
        return True


EVENT = stripe_event("customer.subscription.created", subscription(), event_id="evt_claimed")


def test_a_stored_body_that_matches_gives_its_event() -> None:
    claim, data = claim_for(EVENT)
    log = Log("queued")
    assert claimed_event(claim, Bodies({claim.key: data}), log) == envelope(EVENT)
    assert log.marked == []


@pytest.mark.parametrize("status", ["processed", "ignored"])
def test_a_missing_body_of_a_finished_event_is_a_redelivery(status: EventStatus) -> None:
    claim, _ = claim_for(EVENT)
    log = Log(status)
    assert claimed_event(claim, Bodies({}), log) is None
    assert log.marked == []


@pytest.mark.parametrize(("status", "said"), [("queued", "queued"), (None, "not logged")])
def test_a_missing_body_of_an_unfinished_event_marks_it_failed_and_raises(
    status: EventStatus | None, said: str
) -> None:
    claim, _ = claim_for(EVENT)
    log = Log(status)
    with pytest.raises(EventBodyMissing, match=f"and the event is {said}$"):
        claimed_event(claim, Bodies({}), log)
    [(event_id, marked, error)] = log.marked
    assert (event_id, marked) == ("evt_claimed", "failed")
    assert error is not None and error.startswith("EventBodyMissing: the body of evt_claimed")


def test_a_body_of_another_size_marks_the_event_failed() -> None:
    claim, data = claim_for(EVENT)
    log = Log("queued")
    message = f"is {len(data) + 1} bytes, not the {len(data)} bytes parked for evt_claimed"
    with pytest.raises(EventBodyMismatch, match=message):
        claimed_event(claim, Bodies({claim.key: data + b" "}), log)
    assert [m[1] for m in log.marked] == ["failed"]


def test_a_body_of_the_same_size_with_other_content_marks_the_event_failed() -> None:
    claim, data = claim_for(EVENT)
    log = Log("queued")
    with pytest.raises(EventBodyMismatch, match="its SHA-256 differs"):
        claimed_event(claim, Bodies({claim.key: data.replace(b"active", b"paused")}), log)
    assert [m[1] for m in log.marked] == ["failed"]


def test_a_body_holding_another_event_is_refused() -> None:
    other = {**EVENT, "id": "evt_other"}
    data = json.dumps(other).encode()
    claim = ClaimCheck(
        event_id="evt_claimed",
        key="stripe-events/evt_claimed.json",
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    with pytest.raises(EventBodyMismatch, match="holds evt_other, not evt_claimed"):
        claimed_event(claim, Bodies({claim.key: data}), Log("queued"))
