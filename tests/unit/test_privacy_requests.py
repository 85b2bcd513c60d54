"""The rules of exports and erasures without AWS: categories, pseudonyms, scan verdicts,
retention dates, tenant checks, and the request flow against in-memory stores."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from privacy.logic.erasures import (
    ALLOWED_STORES,
    Hit,
    Needles,
    allowed_reason,
    classify,
    hits_in,
    pseudonym,
)
from privacy.logic.exports import CATEGORIES, PROCESSING, export_document, record_count
from privacy.logic.request_flow import AWAITING, PermanentFailure, Ports, delay_for, handle
from privacy.logic.requests import check_subject_allowed, new_request_item, visible_to
from privacy.logic.retention import RETENTION, pending_expiry, record_retained_until

from cognitionos.auth import Principal
from cognitionos.errors import Forbidden

KEY = b"k" * 32
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
BOUND_S = 300.0


def test_an_export_lists_every_category_and_the_article_15_section() -> None:
    document = export_document(
        {"customer_id": "cus_1"},
        "2026-12-03T15:00:00Z",
        {"invoices": [{"id": "in_1"}], "customer": [{"id": "cus_1"}]},
    )
    assert list(document["data"]) == list(CATEGORIES)
    assert document["data"]["invoices"] == [{"id": "in_1"}]
    assert document["data"]["agent_memory"] == []
    assert set(document["processing"]) == {
        "purposes",
        "recipients",
        "retention",
        "sources",
        "rights",
    }
    assert record_count(document) == 2
    assert {r["category"] for r in PROCESSING["retention"]} >= {"invoices", "audit", "consents"}
    with pytest.raises(ValueError, match="no export lists"):
        export_document({}, "", {"passwords": []})


def test_the_pseudonym_is_stable_keyed_and_does_not_spell_the_id() -> None:
    anon = pseudonym("cus_1", KEY)
    assert anon == pseudonym("cus_1", KEY) and anon.startswith("anon_")
    assert "cus_1" not in anon
    assert anon != pseudonym("cus_1", b"another key") != pseudonym("cus_2", KEY)


def test_plaintext_is_found_whatever_its_case_and_is_never_allowed() -> None:
    needles = Needles.of("cus_1", ["bidx1"], "Ada@Example.com", "Ada Lovelace")
    hit = hits_in("table:audit", '{"pk": "x"}', '{"note": "ADA@example.COM"}', needles)
    assert hit == Hit("table:audit", '{"pk": "x"}', True)
    assert allowed_reason(hit) is None  # not even in the audit log
    assert "Ada" not in repr(needles)  # plaintext stays out of logs and reprs


def test_ids_may_stay_only_where_the_design_keeps_them() -> None:
    needles = Needles.of("cus_1", [], None, None)
    keep = [
        hits_in("table:subject-keys", "{}", '{"subject_id": "cus_1"}', needles),
        hits_in("table:privacy", '{"pk": "REQUEST#exp_1"}', "cus_1", needles),
        hits_in("table:privacy", '{"pk": "CONSENT#cus_1"}', "cus_1", needles),
    ]
    assert all(h is not None and allowed_reason(h) for h in keep)
    leak = hits_in("table:billing", '{"pk": "INVOICE#in_1"}', '{"customer_id": "cus_1"}', needles)
    assert leak is not None and allowed_reason(leak) is None
    assert hits_in("table:billing", "{}", '{"customer_id": "cus_2"}', needles) is None
    assert "table:audit" in ALLOWED_STORES


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["table:audit", "table:billing", "table:privacy", "bucket:exports"]),
            st.sampled_from(['{"pk": "REQUEST#1"}', '{"pk": "INVOICE#1"}']),
            st.booleans(),
        ),
        max_size=30,
    ),
    st.randoms(),
)
@settings(max_examples=60, deadline=None)
def test_the_verdict_depends_on_the_hits_not_on_their_order_or_repeats(
    raw: list[tuple[str, str, bool]], rng: Any
) -> None:
    hits = [Hit(store, key, plain) for store, key, plain in raw]
    shuffled = hits + hits[: len(hits) // 2]  # a record scanned twice
    rng.shuffle(shuffled)
    first, again = classify(hits, len(hits), True), classify(shuffled, len(hits), True)
    assert first.leaks == again.leaks  # listed once each, sorted
    assert first.clean == (not any(allowed_reason(h) is None for h in hits))


def test_invoices_are_kept_ten_years_from_the_end_of_their_year() -> None:
    period_end = int(datetime(2026, 3, 31, tzinfo=UTC).timestamp())
    until = record_retained_until(None, period_end, NOW)
    assert until == datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert record_retained_until(None, None, NOW).year == 2036  # no date: from now
    assert {rule.category for rule in RETENTION} >= {"invoices", "payments", "audit"}


def test_what_expires_later_is_dated_from_the_erasure() -> None:
    listed = {p["store"]: p["until"] for p in pending_expiry(NOW)}
    assert listed["queue:billing-events"] == "2026-12-07T15:00:00Z"
    assert listed["queue:billing-events-dlq"] == "2026-12-21T15:00:00Z"
    assert listed["dynamodb:point-in-time-recovery"] == "2027-01-07T15:00:00Z"


def test_a_bound_key_asks_only_about_its_tenant_and_sees_only_its_requests() -> None:
    bound = Principal("key_a", frozenset({"privacy:manage"}), "cus_A")
    operator = Principal("key_op", frozenset({"admin"}))
    check_subject_allowed(bound, "cus_A")
    check_subject_allowed(bound, None)  # by email: the worker checks
    with pytest.raises(Forbidden):
        check_subject_allowed(bound, "cus_B")
    item = new_request_item("export", operator, "cus_B", None, "t")
    assert visible_to(operator, item, "export")
    assert not visible_to(bound, item, "export")
    assert not visible_to(operator, item, "erasure")  # an export id is no erasure
    with pytest.raises(ValueError):
        new_request_item("export", bound, "cus_A", "bidx", "t")


# --- the flow, against in-memory stores -------------------------------------------------


class MemoryRequests:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = self.items.get(request_id)
        return json.loads(json.dumps(item)) if item else None

    def update(self, request_id: str, fields: dict[str, Any], *, unless_ended: bool = True) -> bool:
        item = self.items[request_id]
        if unless_ended and item["status"] in ("completed", "failed"):
            return False
        item.update(json.loads(json.dumps(fields)))
        return True


class FakeRecords:
    def __init__(self) -> None:
        self.personal: tuple[str | None, str | None, str | None] = ("a@x.org", "Ada", "bidx")

    def customer_by_email(self, bidx: str) -> str | None:
        return "cus_1" if bidx == "bidx" else None

    def personal_of(self, customer_id: str) -> tuple[str | None, str | None, str | None]:
        return self.personal

    def collect(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        return {"customer": [{"id": customer_id}]}


class FakeEraser:
    def __init__(self, records: FakeRecords) -> None:
        self.records = records
        self.effects: Counter[str] = Counter()

    def erase(self, customer_id: str, anon: str, email: str | None) -> Any:
        from privacy.dal.erasures import ErasureOutcome

        self.effects["erase"] += 1
        out = ErasureOutcome()
        out.erased["customer"] += 1
        return out

    def destroy_key(self, customer_id: str) -> None:
        self.effects["destroy"] += 1
        self.records.personal = (None, None, None)  # shredded: nothing readable now


class World:
    def __init__(self) -> None:
        self.requests = MemoryRequests()
        self.records = FakeRecords()
        self.eraser = FakeEraser(self.records)
        self.clock = [NOW]
        self.sent: list[tuple[str, int]] = []
        self.audited: list[str] = []
        self.files: dict[str, Any] = {}
        self.leaks: list[str] = []

    def ports(self) -> Ports:
        from privacy.logic.erasures import ScanResult

        outer = self

        class Files:
            def put(self, request_id: str, document: dict[str, Any]) -> str:
                outer.files[request_id] = document
                return f"exports/{request_id}.json"

        return Ports(
            requests=self.requests,
            records=self.records,
            eraser=self.eraser,
            files=Files(),
            scan=lambda needles, checked: ScanResult(10, {}, list(self.leaks), checked),
            audit=lambda action, resource, tenant, details: self.audited.append(action),
            send_later=lambda request_id, delay: self.sent.append((request_id, delay)),
            blind_key=lambda: KEY,
            now=lambda: self.clock[0],
            cache_bound_s=BOUND_S,
        )

    def request(self, kind: str, **fields: Any) -> str:
        request_id = f"{kind}_1"
        self.requests.items[request_id] = {
            "kind": kind,
            "status": "pending",
            "phase": "queued",
            "subject_customer_id": "",
            "subject_email_bidx": "",
            "tenant_id": "",
            **fields,
        }
        return request_id


def test_an_erasure_is_completed_only_once_the_key_cache_bound_has_passed() -> None:
    world = World()
    request_id = world.request("erasure", subject_customer_id="cus_1")
    handle(request_id, world.ports())
    assert world.requests.items[request_id]["phase"] == AWAITING
    assert world.sent == [(request_id, 300)]
    world.clock[0] = NOW + timedelta(seconds=120)  # delivered early
    handle(request_id, world.ports())
    assert world.requests.items[request_id]["status"] == "pending"
    assert world.sent[-1] == (request_id, 180)  # the rest of the bound
    world.clock[0] = NOW + timedelta(seconds=BOUND_S)
    assert handle(request_id, world.ports()) == "completed"
    assert world.audited == ["privacy.erasure.completed"]


@given(st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_redelivered_erasure_messages_erase_once_and_end_once(offsets: list[int]) -> None:
    """However often and whenever the messages come back, the erasure ends once, completed
    only at or after T + bound, audited once."""
    world = World()
    request_id = world.request("erasure", subject_customer_id="cus_1")
    handle(request_id, world.ports())
    for offset in sorted(offsets):
        world.clock[0] = NOW + timedelta(seconds=offset)
        handle(request_id, world.ports())
        if world.requests.items[request_id]["status"] == "completed":
            assert offset >= BOUND_S
    assert world.eraser.effects == Counter({"erase": 1, "destroy": 1})
    ended = world.requests.items[request_id]["status"] == "completed"
    assert ended == (max(offsets) >= BOUND_S)
    assert world.audited == (["privacy.erasure.completed"] if ended else [])


def test_a_leak_found_by_the_scan_fails_the_erasure() -> None:
    world = World()
    world.leaks = ['table:billing {"pk": "X"}']
    request_id = world.request("erasure", subject_customer_id="cus_1")
    handle(request_id, world.ports())
    world.clock[0] = NOW + timedelta(seconds=BOUND_S + 1)
    assert handle(request_id, world.ports()) == "failed"
    assert world.audited == ["privacy.erasure.failed"]


def test_an_export_by_email_resolves_the_customer_and_another_tenants_fails() -> None:
    world = World()
    request_id = world.request("export", subject_email_bidx="bidx")
    handle(request_id, world.ports())
    assert world.files[request_id]["subject"] == {"customer_id": "cus_1"}
    other = World()
    refused = other.request("export", subject_email_bidx="bidx", tenant_id="cus_9")
    with pytest.raises(PermanentFailure, match="not this API key's tenant"):
        handle(refused, other.ports())


def test_the_delay_stays_within_what_sqs_allows() -> None:
    assert [delay_for(s) for s in (0.2, 2.5, 300, 5000)] == [1, 3, 300, 900]


def test_the_documented_retention_table_is_the_one_the_export_carries() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "PRIVACY.md").read_text()
    for rule in RETENTION:
        row = f"| `{rule.category}` | {rule.store} | {rule.what} | {rule.kept} | "
        assert row + f"{rule.enforced} | {rule.basis} |" in doc, rule.category
