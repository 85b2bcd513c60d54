"""A scripted billing year: twenty customers' Stripe events over 2025, and what a person can
work out by hand about each of them at the end.

Pure and deterministic: ``billing_year(seed)`` gives the same events for the same seed (the
seed moves start days and hours, never the stories), and ``deliveries(events, seed)`` gives
the same shuffled delivery with redeliveries and duplicate events. Objects have the
2025-03-31.basil shapes ``tests/factories.py`` builds (billing period on each item, an
invoice's subscription under ``parent.subscription_details``).

The stories: plain sign-ups, an upgrade and a downgrade (price changes), seat changes
(quantity), annual plans with and without a coupon, a repeating coupon that ends, trials
that convert or are canceled, failed payments recovered, failed payments ending in churn
(``canceled`` for ``payment_failed``, or ``unpaid``), voluntary cancellations (at period end
and at once), and reactivations after a voluntary and after an involuntary churn. Monthly
renewals roll the period (``customer.subscription.updated``) and are paid an hour later
(``invoice.paid``); first invoices, trial conversions and recoveries put ``invoice.paid``
and ``customer.subscription.updated`` in the same second, as Stripe does.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from tests.factories import customer as customer_object
from tests.factories import invoice as invoice_object
from tests.factories import stripe_event
from tests.factories import subscription as subscription_object

YEAR_START = 1_735_689_600  # 2025-01-01T00:00:00Z
YEAR_END = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3600
DAY = 86400
# Stripe's smart retries, as days after the first failure: attempts 2, 3 and 4.
RETRY_DAYS = (3, 8, 15)


@dataclass(frozen=True)
class Price:
    id: str
    product: str
    unit_amount: int
    interval: str = "month"
    currency: str = "usd"


BASIC = Price("price_basic", "prod_basic", 2000)
STARTER = Price("price_starter", "prod_starter", 3000)
PRO = Price("price_pro", "prod_pro", 5000)
SEAT = Price("price_seat", "prod_team", 1000)
ANNUAL = Price("price_pro_annual", "prod_pro", 120_000, "year")


@dataclass(frozen=True)
class Expectation:
    """What the year must end in for one customer, worked out by hand (docs/REVENUE.md)."""

    story: str
    subscription_id: str  # the customer's last subscription
    status: str  # its status at the end of the year
    mrr: int  # the customer's MRR at the end of the year, in cents
    last_movement: str | None  # the kind of its last MRR change record; None: never paid
    involuntary_churn: bool = False  # some churn of its was for want of payment


@dataclass
class BillingYear:
    events: list[dict[str, Any]]  # ordered by ``created`` (stable for ties)
    expectations: dict[str, Expectation]  # by customer id

    @property
    def customer_ids(self) -> list[str]:
        return sorted(self.expectations)

    def subscription_ids(self) -> list[str]:
        return sorted(
            {
                e["data"]["object"]["id"]
                for e in self.events
                if e["type"].startswith("customer.subscription.")
            }
        )

    def invoice_ids(self, customer_id: str) -> list[str]:
        return sorted(
            {
                e["data"]["object"]["id"]
                for e in self.events
                if e["type"].startswith("invoice.")
                and e["data"]["object"]["customer"] == customer_id
            }
        )


def add_months(ts: int, months: int) -> int:
    """The same day and time ``months`` calendar months later (days stay <= 28)."""
    moment = datetime.fromtimestamp(ts, UTC)
    index = moment.month - 1 + months
    return int(moment.replace(year=moment.year + index // 12, month=index % 12 + 1).timestamp())


def month_start(month: int) -> int:
    """Midnight UTC on the first of ``month`` (1-12) of 2025."""
    return int(datetime(2025, month, 1, tzinfo=UTC).timestamp())


@dataclass
class _Subscription:
    id: str
    customer: str
    price: Price
    quantity: int = 1
    status: str = "incomplete"
    period_start: int = 0
    period_end: int = 0
    trial_end: int | None = None
    discount: dict[str, Any] | None = None
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None

    def stripe_object(self) -> dict[str, Any]:
        obj = subscription_object(
            sub_id=self.id,
            customer=self.customer,
            status=self.status,
            unit_amount=self.price.unit_amount,
            quantity=self.quantity,
            interval=self.price.interval,
            period_end=self.period_end,
        )
        item = obj["items"]["data"][0]
        item["current_period_start"] = self.period_start
        item["price"] |= {
            "id": self.price.id,
            "product": self.price.product,
            "currency": self.price.currency,
        }
        obj |= {
            "currency": self.price.currency,
            "start_date": self.period_start,
            "trial_end": self.trial_end,
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": self.canceled_at,
            "ended_at": self.ended_at,
            "cancellation_details": {"reason": self.cancellation_reason},
            "discount": copy.deepcopy(self.discount),
            "discounts": [self.discount["id"]] if self.discount else [],
            "latest_invoice": None,
        }
        return obj

    def monthly_amount(self) -> int:
        """The amount of one period's invoice (discounts applied; no tax)."""
        gross = self.price.unit_amount * self.quantity
        coupon = (self.discount or {}).get("coupon") or {}
        return gross * (100 - int(coupon.get("percent_off") or 0)) // 100


@dataclass
class _Script:
    """Emits one customer's events; ids are deterministic."""

    customer_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    invoices: int = 0

    def emit(self, event_type: str, obj: dict[str, Any], at: int) -> None:
        event_id = f"evt_{self.customer_id[4:]}_{len(self.events):04d}"
        self.events.append(
            stripe_event(event_type, copy.deepcopy(obj), created=at, event_id=event_id)
        )

    def subscription(self, event_type: str, sub: _Subscription, at: int) -> None:
        self.emit(f"customer.subscription.{event_type}", sub.stripe_object(), at)

    def new_invoice(self, sub: _Subscription, reason: str, amount: int) -> dict[str, Any]:
        self.invoices += 1
        inv = invoice_object(
            invoice_id=f"in_{sub.customer[4:]}_{self.invoices:02d}",
            customer=sub.customer,
            status="draft",
            sub_id=sub.id,
        )
        inv |= {
            "customer_email": None,  # personal data travels on customer events only
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "attempt_count": 0,
            "billing_reason": reason,
            "period_start": sub.period_start,
            "period_end": sub.period_end,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/{sub.customer}/{self.invoices}",
        }
        return inv

    def invoice(self, event_type: str, inv: dict[str, Any], at: int, **changes: Any) -> None:
        inv |= changes
        self.emit(f"invoice.{event_type}", inv, at)

    def pay(self, inv: dict[str, Any], at: int, attempt: int = 1) -> None:
        self.invoice(
            "paid",
            inv,
            at,
            status="paid",
            attempt_count=attempt,
            amount_paid=inv["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
        )


class _Story:
    """One customer's year, told step by step."""

    def __init__(self, script: _Script, customer_id: str, email: str, name: str) -> None:
        self.s = script
        self.customer = {
            **customer_object(customer_id, email),
            "name": name,
            "currency": "usd",
            "created": 0,
        }
        self.id = customer_id
        self.subs = 0

    def sign_up(self, at: int) -> None:
        self.customer["created"] = at
        self.s.emit("customer.created", self.customer, at)

    def update_email(self, email: str, at: int) -> None:
        self.customer["email"] = email
        self.s.emit("customer.updated", self.customer, at)

    def subscribe(
        self,
        price: Price,
        at: int,
        quantity: int = 1,
        percent_off: int | None = None,
        coupon_months: int | None = None,
    ) -> _Subscription:
        """Checkout: incomplete, first invoice paid, active in the same second."""
        sub = self._new_subscription(price, quantity, at)
        if percent_off is not None:
            sub.discount = self._discount(sub, at, percent_off, coupon_months)
            self.s.emit("customer.discount.created", sub.discount, at)
        self.s.subscription("created", sub, at)
        first = self.s.new_invoice(sub, "subscription_create", sub.monthly_amount())
        self.s.invoice("created", first, at)
        self.s.invoice("finalized", first, at, status="open")  # the same second as created
        paid_at = at + 2
        self.s.pay(first, paid_at)
        sub.status = "active"
        self.s.subscription("updated", sub, paid_at)
        self.s.emit("checkout.session.completed", self._checkout(sub, first), paid_at)
        return sub

    def start_trial(self, price: Price, at: int, days: int = 14) -> _Subscription:
        sub = self._new_subscription(price, 1, at)
        sub.status, sub.trial_end, sub.period_end = "trialing", at + days * DAY, at + days * DAY
        self.s.subscription("created", sub, at)
        zero = self.s.new_invoice(sub, "subscription_create", 0)
        self.s.invoice("created", zero, at)
        self.s.pay(zero, at)
        self.s.subscription("trial_will_end", sub, sub.trial_end - 3 * DAY)
        return sub

    def convert_trial(self, sub: _Subscription) -> None:
        """The trial ends and the first paid period starts; paid in the same second."""
        at = sub.trial_end or sub.period_end
        sub.status, sub.period_start, sub.period_end = "active", at, add_months(at, 1)
        self.s.subscription("updated", sub, at)
        first = self.s.new_invoice(sub, "subscription_cycle", sub.monthly_amount())
        self.s.invoice("created", first, at)
        self.s.invoice("finalized", first, at, status="open")
        self.s.pay(first, at)

    def renew_until(self, sub: _Subscription, until: int) -> None:
        """Every period that starts before ``until``: the period rolls, paid an hour later."""
        while sub.period_end < min(until, YEAR_END) and sub.status == "active":
            self._roll(sub)
            inv = self.s.new_invoice(sub, "subscription_cycle", sub.monthly_amount())
            self.s.pay(inv, sub.period_start + HOUR)

    def change(
        self, sub: _Subscription, at: int, price: Price | None = None, quantity: int | None = None
    ) -> None:
        sub.price = price or sub.price
        sub.quantity = quantity if quantity is not None else sub.quantity
        self.s.subscription("updated", sub, at)

    def end_discount(self, sub: _Subscription) -> None:
        """A repeating coupon runs out at a period's end: the discount is deleted, and the
        renewal that starts then rolls the subscription without it."""
        assert sub.discount is not None
        self.s.emit("customer.discount.deleted", sub.discount, int(sub.discount["end"]))
        sub.discount = None

    def fail_renewal(self, sub: _Subscription, failures: int, then: str) -> int:
        """The next renewal's payment fails ``failures`` times; ``then`` is ``recover`` (the
        next attempt pays), ``cancel`` (Stripe cancels for ``payment_failed``) or ``unpaid``.
        Returns when the story ended."""
        self._roll(sub)
        at = sub.period_start
        inv = self.s.new_invoice(sub, "subscription_cycle", sub.monthly_amount())
        self.s.invoice("created", inv, at)
        first = at + HOUR
        self.s.invoice("finalized", inv, first, status="open")
        attempts = [first] + [first + d * DAY for d in RETRY_DAYS]
        for n in range(failures):
            last_attempt = n + 1 == len(attempts) or (then != "recover" and n + 1 == failures)
            self.s.invoice(
                "payment_failed",
                inv,
                attempts[n],
                attempt_count=n + 1,
                next_payment_attempt=None if last_attempt else attempts[n + 1],
            )
            if n == 0:
                sub.status = "past_due"
                self.s.subscription("updated", sub, attempts[0] + 1)
        end = attempts[failures] if then == "recover" else attempts[failures - 1] + 1
        if then == "recover":
            self.s.pay(inv, end, attempt=failures + 1)
            sub.status = "active"
            self.s.subscription("updated", sub, end)  # the same second as invoice.paid
        elif then == "cancel":
            self.cancel_now(sub, end, reason="payment_failed")
        else:
            sub.status = "unpaid"
            self.s.subscription("updated", sub, end)
        return end

    def cancel_at_period_end(self, sub: _Subscription, at: int) -> int:
        sub.cancel_at_period_end, sub.canceled_at = True, at
        self.s.subscription("updated", sub, at)
        self.cancel_now(sub, sub.period_end, reason="cancellation_requested")
        return sub.period_end

    def cancel_now(
        self, sub: _Subscription, at: int, reason: str = "cancellation_requested"
    ) -> None:
        sub.status, sub.ended_at, sub.cancellation_reason = "canceled", at, reason
        sub.canceled_at = sub.canceled_at or at
        self.s.subscription("deleted", sub, at)

    def _roll(self, sub: _Subscription) -> None:
        sub.period_start, sub.period_end = sub.period_end, add_months(sub.period_end, 1)
        self.s.subscription("updated", sub, sub.period_start)

    def _new_subscription(self, price: Price, quantity: int, at: int) -> _Subscription:
        self.subs += 1
        sub_id = f"sub_{self.id[4:]}_{self.subs}"
        months = 12 if price.interval == "year" else 1
        return _Subscription(
            sub_id, self.id, price, quantity, "incomplete", at, add_months(at, months)
        )

    def _discount(
        self, sub: _Subscription, at: int, percent_off: int, months: int | None
    ) -> dict[str, Any]:
        coupon = {
            "id": f"COUPON{percent_off}{'R' if months else 'F'}",
            "object": "coupon",
            "percent_off": percent_off,
            "amount_off": None,
            "currency": None,
            "duration": "repeating" if months else "forever",
            "duration_in_months": months,
            "valid": True,
        }
        return {
            "id": f"di_{sub.id[4:]}",
            "object": "discount",
            "customer": self.id,
            "subscription": sub.id,
            "start": at,
            "end": add_months(at, months) if months else None,
            "coupon": coupon,
            "promotion_code": None,
            "invoice": None,
            "invoice_item": None,
        }

    def _checkout(self, sub: _Subscription, first: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"cs_{sub.id[4:]}",
            "object": "checkout.session",
            "customer": self.id,
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "subscription": sub.id,
            "invoice": first["id"],
            "currency": sub.price.currency,
            "amount_total": first["amount_due"],
        }


def billing_year(seed: int = 0) -> BillingYear:
    """Twenty customers' year of Stripe events, and the hand-worked expectations."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    expectations: dict[str, Expectation] = {}
    for number, (story, tell) in enumerate(STORIES, start=1):
        customer_id = f"cus_yr{seed}x{number:02d}"
        script = _Script(customer_id)
        teller = _Story(
            script, customer_id, f"customer{number:02d}@example.com", f"Customer {number}"
        )

        def when(month: int, latest_day: int = 20) -> int:
            day = rng.randint(0, latest_day - 1)
            minute = rng.randint(0, 59) * 60
            # :30 past the minute; subscriptions start at :45, so a change mid-period never
            # shares a second with a renewal.
            return month_start(month) + day * DAY + rng.randint(8, 18) * HOUR + minute + 30

        expectation = tell(teller, when)
        expectations[customer_id] = replace(expectation, story=story)
        events += script.events
    events.sort(key=lambda e: e["created"])  # stable: ties keep the order they were told in
    return BillingYear(events, expectations)


# --- the twenty stories ----------------------------------------------------------------------
# Each tells one customer's year and returns what it ends in; MRR figures are by hand.


def _new_pro(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(1))
    sub = c.subscribe(PRO, start + 15)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 5000, "new")


def _new_basic(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(2))
    sub = c.subscribe(BASIC, start + 15)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 2000, "new")


def _upgrade(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(1))
    sub = c.subscribe(BASIC, start + 15)
    c.renew_until(sub, upgrade := when(4))
    c.change(sub, upgrade, price=PRO)  # 2000 -> 5000: expansion
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 5000, "expansion")


def _seat_changes(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(2))
    sub = c.subscribe(SEAT, start + 15, quantity=3)
    c.renew_until(sub, more := when(3))
    c.change(sub, more, quantity=5)  # 3000 -> 5000
    c.renew_until(sub, fewer := when(8))
    c.change(sub, fewer, quantity=4)  # 5000 -> 4000: contraction
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 4000, "contraction")


def _annual_with_coupon(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(3))
    sub = c.subscribe(ANNUAL, start + 15, percent_off=25)
    # 120000 a year = 10000 a month, 25 % off forever: 7500. No renewal within the year.
    return Expectation("", sub.id, "active", 7500, "new")


def _trial_converts(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(4))
    sub = c.start_trial(STARTER, start + 15)
    c.convert_trial(sub)  # not MRR while trialing; new when it converts
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 3000, "new")


def _failed_then_recovered(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(1))
    sub = c.subscribe(PRO, start + 15)
    c.renew_until(sub, month_start(6))
    c.fail_renewal(sub, failures=2, then="recover")  # past_due still counts: no movement
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 5000, "new")


def _failed_then_churned(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(2))
    sub = c.subscribe(BASIC, start + 15)
    c.renew_until(sub, month_start(7))
    c.fail_renewal(sub, failures=4, then="cancel")
    return Expectation("", sub.id, "canceled", 0, "churn", involuntary_churn=True)


def _reactivated(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(1))
    first = c.subscribe(PRO, start + 15)
    c.renew_until(first, month_start(5))
    c.cancel_at_period_end(first, first.period_end - 5 * DAY)  # churns when the period ends
    again = c.subscribe(BASIC, when(9))
    c.renew_until(again, YEAR_END)
    return Expectation("", again.id, "active", 2000, "reactivation")


def _trial_canceled(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(5))
    sub = c.start_trial(STARTER, start + 15)
    c.cancel_now(sub, start + 15 + 12 * DAY)  # after trial_will_end, before it ends
    return Expectation("", sub.id, "canceled", 0, None)


def _downgrade(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(3))
    sub = c.subscribe(PRO, start + 15)
    c.renew_until(sub, down := when(6))
    c.change(sub, down, price=BASIC)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 2000, "contraction")


def _failed_then_unpaid(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(4))
    sub = c.subscribe(STARTER, start + 15)
    c.renew_until(sub, month_start(8))
    c.fail_renewal(sub, failures=4, then="unpaid")
    return Expectation("", sub.id, "unpaid", 0, "churn", involuntary_churn=True)


def _late_sign_up(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(11))
    sub = c.subscribe(PRO, start + 15)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 5000, "new")


def _repeating_coupon(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(5))
    sub = c.subscribe(PRO, start + 15, percent_off=50, coupon_months=3)  # 2500 for 3 months
    assert sub.discount is not None
    c.renew_until(sub, int(sub.discount["end"]))
    c.end_discount(sub)  # 2500 -> 5000: expansion
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 5000, "expansion")


def _fewer_seats(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(6))
    sub = c.subscribe(SEAT, start + 15, quantity=10)
    c.renew_until(sub, fewer := when(9))
    c.change(sub, fewer, quantity=2)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 2000, "contraction")


def _annual(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(8))
    sub = c.subscribe(ANNUAL, start + 15)
    return Expectation("", sub.id, "active", 10000, "new")


def _recovered_on_second_attempt(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(3))
    sub = c.subscribe(BASIC, start + 15)
    c.renew_until(sub, month_start(9))
    c.fail_renewal(sub, failures=1, then="recover")
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 2000, "new")


def _canceled_at_once(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(3))
    sub = c.subscribe(PRO, start + 15)
    c.renew_until(sub, stop := when(10))
    c.cancel_now(sub, stop)
    return Expectation("", sub.id, "canceled", 0, "churn")


def _churned_then_back(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(1, latest_day=10))
    first = c.subscribe(BASIC, start + 15)
    c.renew_until(first, month_start(4))
    c.fail_renewal(first, failures=4, then="cancel")
    again = c.subscribe(PRO, when(8))
    c.renew_until(again, YEAR_END)
    return Expectation("", again.id, "active", 5000, "reactivation", involuntary_churn=True)


def _two_seats_new_email(c: _Story, when: Any) -> Expectation:
    c.sign_up(start := when(7))
    sub = c.subscribe(BASIC, start + 15, quantity=2)
    c.update_email("billing.customer20@example.com", start + 10 * DAY)
    c.renew_until(sub, YEAR_END)
    return Expectation("", sub.id, "active", 4000, "new")


STORIES = (
    ("new monthly Pro", _new_pro),
    ("new monthly Basic", _new_basic),
    ("upgrade Basic to Pro", _upgrade),
    ("seat changes 3, 5, 4", _seat_changes),
    ("annual plan with a 25 % coupon", _annual_with_coupon),
    ("trial converts", _trial_converts),
    ("failed payment, then recovery", _failed_then_recovered),
    ("failed payment, then churn (canceled)", _failed_then_churned),
    ("cancel at period end, then reactivation", _reactivated),
    ("trial canceled", _trial_canceled),
    ("downgrade Pro to Basic", _downgrade),
    ("failed payment, then unpaid", _failed_then_unpaid),
    ("late sign-up", _late_sign_up),
    ("repeating coupon runs out", _repeating_coupon),
    ("seats 10 to 2", _fewer_seats),
    ("annual plan", _annual),
    ("failed payment, recovered on the second attempt", _recovered_on_second_attempt),
    ("canceled at once", _canceled_at_once),
    ("involuntary churn, then reactivation", _churned_then_back),
    ("two seats and a new email", _two_seats_new_email),
)


@dataclass
class Delivery:
    """The year as a flaky network delivers it."""

    posts: list[dict[str, Any]]  # every POST, in order
    redeliveries: int  # posts of an event id already posted
    duplicates: int  # the same change again under a new event id


def deliveries(
    events: list[dict[str, Any]], seed: int = 0, redelivery_rate: float = 0.2, duplicates: int = 5
) -> Delivery:
    """``events`` shuffled, with ~``redelivery_rate`` of them posted again and a few posted
    again under a new event id (Stripe sometimes makes two Event objects for one change)."""
    rng = random.Random(f"deliveries-{seed}")
    copies = [
        {**copy.deepcopy(original), "id": f"{original['id']}_dup"}
        for original in rng.sample(events, duplicates)
    ]
    again = rng.sample(events, round(len(events) * redelivery_rate))
    posts = [*events, *copies, *again]
    rng.shuffle(posts)
    return Delivery(posts, len(again), len(copies))
