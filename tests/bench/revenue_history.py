"""Synthetic MRR change feeds for the revenue benchmarks, and the bench's own ledger of them.

``History(n)`` makes 24 months of change records for ``n`` customers: each a ``new`` record
in a random month, then 0-3 later changes (expansions, contractions, churn, the odd
reactivation); some customers pay in EUR. The feed holds one item per customer, its whole
record set, as billing last wrote it: at the time of the customer's latest record.

``next_round`` makes the record changes of the hour after it: new customers, changes of
existing ones now, late records in earlier months, voids. Each change is one event's worth:
``write`` rewrites that customer's whole set through billing's own commit, one change at a
time, so a customer changed twice in a round is written twice (the feed keeps the second).
The ledger keeps each customer's latest record set, so a benchmark knows what the feed holds
and what the totals must be without reading the feed back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from billing.dal.billing_state import BillingState
from billing.logic.movements import MrrChange
from billing.logic.process import CommitPlan
from cognitionos.mrr_feed import FeedRecord, RecordSet, movement_kind
from revenue.logic.fx import FxRates
from revenue.logic.months import month_of, month_start
from tests.revenue_fixtures import FeedWriter, at

NOW = at("2025-06-15T12:00:00")  # the history ends, and the first (full) rollup runs, here
MONTHS = 24
FIRST_MONTH = month_of(NOW) - (MONTHS - 1)
REPORTING_CURRENCY, FX_RATES = "usd", '{"eur": 1.08}'
FX = FxRates.parse(REPORTING_CURRENCY, FX_RATES)
EUR_SHARE = 0.15
PRICES = (1900, 4900, 9900, 29900, 99900)
SEATS = (1, 1, 1, 2, 3, 5)
STEPS = (0.5, 0.8, 1.25, 1.5, 2.0)
LATER_CHANGES = (0, 1, 1, 2, 3)  # per customer: 1.4 on average
CHURN_SHARE = 0.2
DAY, HOUR = 86400, 3600
# A round's mix, as shares of its changes; the rest are expansions and contractions now.
NEW_SHARE, CHURN_NOW_SHARE, LATE_SHARE, VOID_SHARE = 0.30, 0.10, 0.10, 0.05
LATE_MONTHS_BACK = 12


@dataclass
class Customer:
    customer_id: str
    currency: str
    live: dict[int, int] = field(default_factory=dict)  # effective_at -> MRR from then on

    @property
    def level(self) -> int:
        return self.live[max(self.live)] if self.live else 0

    def free_second(self, wanted: int) -> int:
        """``wanted`` or the next second without a record (a record's key is its second)."""
        while wanted in self.live:
            wanted += 1
        return wanted


@dataclass(frozen=True)
class Published:
    """One change of a customer's records, as one event makes it: a record put, or an
    existing record voided; billing then rewrites the customer's set at ``recorded_ms``."""

    change: MrrChange
    recorded_ms: int
    void: bool = False


class History:
    def __init__(self, customers: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.customers: list[Customer] = []
        # Each customer's records by key, as billing holds them (``FeedWriter`` shares it).
        self.sets: dict[str, dict[str, MrrChange]] = {}
        self.ledger: dict[str, RecordSet] = {}  # customer -> its latest set, as the feed has it
        self.rounds = 0
        for _ in range(customers):
            customer = self._new_customer()
            records = self.sets.setdefault(customer.customer_id, {})
            paid_before, before, last_ms = False, 0, 0
            for effective_at, mrr in self._timeline():
                kind = movement_kind(before, mrr, paid_before)
                change = MrrChange(
                    customer.customer_id, customer.currency, effective_at, before, mrr, kind
                )
                # Billing rewrote the set with each of these events; the last write remains.
                last_ms = effective_at * 1000 + self.rng.randint(1_000, 120_000)
                records[change.key] = change
                customer.live[effective_at] = mrr
                paid_before, before = paid_before or mrr > 0, mrr
            self._remember(customer.customer_id, last_ms)

    def items(self, table: Any) -> list[dict[str, Any]]:
        """Each customer's record set as billing's own data access code shapes its item (the
        item its commit puts), in write order."""
        sets = self.feed()
        state = BillingState(table, clock_ms=iter(s.recorded_ms for s in sets).__next__)
        items = []
        for record_set in sets:
            plan = self._plan(record_set.customer_id)
            [(role, put)] = state._record_set_writes(plan)
            assert role == "records"
            items.append(put["Put"]["Item"])
        return items

    def feed(self) -> list[RecordSet]:
        """Each customer's latest set, in write order: what a full read of the feed yields."""
        return sorted(self.ledger.values(), key=lambda s: (s.recorded_ms, s.customer_id))

    @property
    def record_count(self) -> int:
        """Records in the customers' latest sets."""
        return sum(len(s.records) for s in self.ledger.values())

    def next_round(self, size: int) -> tuple[list[Published], int]:
        """``size`` record changes in the next hour, each to be written as its customer's
        whole set at its own time, and the end of that hour (epoch s)."""
        start = NOW + self.rounds * HOUR
        self.rounds += 1
        times = sorted(
            self.rng.randint(start * 1000 + 1, (start + HOUR) * 1000) for _ in range(size)
        )
        found: list[Published] = []
        while len(found) < size:
            recorded_ms = times[len(found)]
            published = self._one(recorded_ms, now=recorded_ms // 1000 - self.rng.randint(0, 60))
            if published is None:
                continue
            found.append(published)
            customer = self._customer(published.change.customer_id)
            if published.void:
                customer.live.pop(published.change.effective_at)
            else:
                customer.live[published.change.effective_at] = published.change.mrr_to
        return found, start + HOUR

    def write(self, changes: list[Published], table: Any) -> None:
        """Publish through billing's own writes, one change at a time, at the changes' write
        times (``FeedWriter``: each rewrites the customer's whole set in one transaction, as
        billing's commit of an event does)."""
        clock = iter(p.recorded_ms for p in changes)
        writer = FeedWriter(table, clock_ms=clock, sets=self.sets)
        for published in changes:
            c = published.change
            if published.void:
                writer.void(c)
            else:
                writer.put(c.customer_id, c.currency, c.effective_at, c.mrr_to)
            self._remember(c.customer_id, published.recorded_ms)

    # --- internals ---------------------------------------------------------------------

    def _one(self, recorded_ms: int, now: int) -> Published | None:
        roll = self.rng.random()
        if roll < NEW_SHARE:
            customer = self._new_customer()
            return self._put(customer, now, self._price(), recorded_ms)
        customer = self.rng.choice(self.customers)
        roll -= NEW_SHARE
        if roll < CHURN_NOW_SHARE:
            mrr = 0 if customer.level else self._price()  # churned already: it comes back
            return self._put(customer, customer.free_second(now), mrr, recorded_ms)
        roll -= CHURN_NOW_SHARE
        if roll < LATE_SHARE:
            late = self._late_second(customer)
            if late is None:
                return None
            return self._put(customer, late, self._changed(customer.level), recorded_ms)
        roll -= LATE_SHARE
        if roll < VOID_SHARE:
            if len(customer.live) < 2:
                return None
            voided = self.rng.choice(sorted(customer.live)[1:])
            change = MrrChange(
                customer.customer_id, customer.currency, voided, 0, customer.live[voided], "new"
            )
            return Published(change, recorded_ms, void=True)
        mrr = self._changed(customer.level)
        return self._put(customer, customer.free_second(now), mrr, recorded_ms)

    def _put(self, customer: Customer, effective_at: int, mrr: int, recorded_ms: int) -> Published:
        kind = movement_kind(customer.level, mrr, bool(customer.live))
        change = MrrChange(customer.customer_id, customer.currency, effective_at, 0, mrr, kind)
        return Published(change, recorded_ms)

    def _customer(self, customer_id: str) -> Customer:
        return self.customers[int(customer_id.removeprefix("cus_"))]

    def _new_customer(self) -> Customer:
        currency = "eur" if self.rng.random() < EUR_SHARE else "usd"
        customer = Customer(f"cus_{len(self.customers):07d}", currency)
        self.customers.append(customer)
        return customer

    def _price(self) -> int:
        return self.rng.choice(PRICES) * self.rng.choice(SEATS)

    def _changed(self, level: int) -> int:
        """An expansion or a contraction of ``level`` (a new price when there is none)."""
        if not level:
            return self._price()
        return max(500, round(level * self.rng.choice(STEPS)))

    def _timeline(self) -> list[tuple[int, int]]:
        month = FIRST_MONTH + self.rng.randrange(MONTHS)
        end = min(month_start(month + 1), NOW - HOUR)
        at_s = self.rng.randint(month_start(month), end - 1)
        points = [(at_s, self._price())]
        for _ in range(self.rng.choice(LATER_CHANGES)):
            at_s += self.rng.randint(5 * DAY, 200 * DAY)
            if at_s >= NOW - HOUR:
                break
            before = points[-1][1]
            if before == 0:
                mrr = self._price()  # a reactivation
            elif self.rng.random() < CHURN_SHARE:
                mrr = 0
            else:
                mrr = self._changed(before)
            points.append((at_s, mrr))
        return points

    def _late_second(self, customer: Customer) -> int | None:
        """A second in one of the last twelve months before this one, after the customer's
        first record, free of records; None if the customer started too recently."""
        if not customer.live:
            return None
        month = month_of(NOW) - self.rng.randint(1, LATE_MONTHS_BACK)
        lo = max(min(customer.live) + 1, month_start(month))
        hi = month_start(month + 1) - 1
        if lo > hi:
            return None
        return customer.free_second(self.rng.randint(lo, hi))

    def _plan(self, customer_id: str) -> CommitPlan:
        records = tuple(sorted(self.sets[customer_id].values(), key=lambda r: r.key))
        return CommitPlan(None, customer_id=customer_id, records=records, records_changed=True)

    def _remember(self, customer_id: str, recorded_ms: int) -> None:
        """The customer's set as it was just written, in the order ``FeedWriter`` writes it."""
        records = tuple(
            FeedRecord(r.currency, r.effective_at, r.mrr_to)
            for r in sorted(self.sets[customer_id].values(), key=lambda r: r.key)
        )
        self.ledger[customer_id] = RecordSet(customer_id, records, recorded_ms)
