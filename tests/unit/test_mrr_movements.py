"""MRR change records of one customer, each movement kind against hand-computed figures."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from billing.logic.movements import DiscountVersion, MrrChange, SubscriptionVersion, mrr_changes
from billing.logic.mrr import Discount, PriceItem
from billing.logic.versions import version_key

MONTH = 30 * 86400


def version(
    at: int,
    status: str = "active",
    amount: int = 5000,
    quantity: int = 1,
    interval: str = "month",
    sub: str = "sub_1",
    discounts: tuple[Discount, ...] = (),
    ended_at: int | None = None,
    cancellation_reason: str | None = None,
    currency: str = "usd",
) -> SubscriptionVersion:
    effective = ended_at if ended_at is not None and status == "canceled" else at
    return SubscriptionVersion(
        sub,
        version_key(at, 0, f"{status}{amount}{quantity}"),
        effective,
        status,
        currency,
        (PriceItem(amount, quantity, interval),),
        discounts,
        cancellation_reason,
    )


def moves(
    *versions: SubscriptionVersion, discounts: tuple[DiscountVersion, ...] = ()
) -> list[tuple[int, int, int, str]]:
    return [
        (c.effective_at, c.mrr_from, c.mrr_to, c.kind)
        for c in mrr_changes("cus_1", versions, discounts)
    ]


def test_first_mrr_is_new_then_a_seat_change_is_expansion_and_contraction() -> None:
    assert moves(version(100, quantity=1), version(200, quantity=3), version(300, quantity=2)) == [
        (100, 0, 5000, "new"),
        (200, 5000, 15000, "expansion"),
        (300, 15000, 10000, "contraction"),
    ]


def test_a_trial_is_not_mrr_until_it_converts_then_it_is_new() -> None:
    assert moves(version(100, status="trialing"), version(100 + 14 * 86400)) == [
        (100 + 14 * 86400, 0, 5000, "new")
    ]


def test_cancel_at_period_end_keeps_mrr_until_the_subscription_ends() -> None:
    # The update that sets cancel_at_period_end changes nothing; the deletion churns at ended_at.
    records = moves(
        version(100), version(200), version(300 + MONTH, status="canceled", ended_at=250 + MONTH)
    )
    assert records == [(100, 0, 5000, "new"), (250 + MONTH, 5000, 0, "churn")]


def test_after_a_churn_coming_back_is_reactivation() -> None:
    assert moves(version(100), version(200, status="canceled", ended_at=200), version(900)) == [
        (100, 0, 5000, "new"),
        (200, 5000, 0, "churn"),
        (900, 0, 5000, "reactivation"),
    ]


def test_churn_after_past_due_or_unpaid_is_involuntary_and_a_requested_cancel_is_not() -> None:
    failed = mrr_changes(
        "cus_1", [version(100), version(200, status="past_due"), version(300, status="unpaid")]
    )
    asked = mrr_changes("cus_1", [version(100), version(300, status="canceled", ended_at=300)])
    assert (failed[-1].kind, failed[-1].involuntary) == ("churn", True)
    assert (asked[-1].kind, asked[-1].involuntary) == ("churn", False)


def test_a_hundred_percent_coupon_is_churn_and_its_removal_reactivation() -> None:
    free = Discount("di_free", percent_off=Fraction(100), start=200)
    coupon = [
        DiscountVersion(free, version_key(200, 0, "a"), 200, deleted=False),
        DiscountVersion(free, version_key(500, 10, "b"), 500, deleted=True),
    ]
    assert moves(version(100), discounts=tuple(coupon)) == [
        (100, 0, 5000, "new"),
        (200, 5000, 0, "churn"),
        (500, 0, 5000, "reactivation"),
    ]


def test_a_repeating_coupon_ending_is_an_expansion_when_it_ends() -> None:
    half = Discount(
        "di_1", percent_off=Fraction(50), duration="repeating", start=100, end=100 + 3 * MONTH
    )
    assert moves(version(100, discounts=(half,))) == [
        (100, 0, 2500, "new"),
        (100 + 3 * MONTH, 2500, 5000, "expansion"),
    ]


def test_two_subscriptions_add_up_and_only_the_customer_total_moves() -> None:
    records = moves(
        version(100, sub="sub_a"),
        version(200, sub="sub_b", amount=1000),
        version(300, sub="sub_a", status="canceled", ended_at=300),
    )
    assert records == [
        (100, 0, 5000, "new"),
        (200, 5000, 6000, "expansion"),
        (300, 6000, 1000, "contraction"),
    ]


def test_records_do_not_depend_on_the_order_versions_are_given_in() -> None:
    versions = [version(100), version(200, quantity=2), version(300, status="past_due", quantity=2)]
    assert mrr_changes("cus_1", versions) == mrr_changes("cus_1", list(reversed(versions)))


def test_a_record_carries_its_currency() -> None:
    [record] = mrr_changes("cus_1", [version(100, currency="eur")])
    assert record == MrrChange("cus_1", "eur", 100, 0, 5000, "new")


def test_a_customers_mrr_now_is_its_latest_record_in_its_currency() -> None:
    from billing.logic.movements import customer_mrr

    records = mrr_changes(
        "cus_1", [version(100, currency="eur"), version(200, quantity=2, currency="eur")]
    )
    assert customer_mrr(records, "eur", at=150) == ("eur", 5000)
    assert customer_mrr(records, None, at=250) == ("eur", 10000)  # no currency on the customer yet
    assert customer_mrr([], None, at=250) == (None, 0)


def test_the_mrr_gauge_is_the_current_mrr_per_currency_and_0_where_records_fell_silent() -> None:
    from billing.logic.follow_ups import MRR, MrrGauge

    records = [
        MrrChange("cus_1", "eur", 100, 0, 4000, "new"),
        MrrChange("cus_1", "eur", 200, 4000, 2000, "contraction"),
        MrrChange("cus_1", "eur", 900, 2000, 4000, "expansion"),  # a discount ends later on
    ]
    set_calls: list[tuple[str, float, dict[str, str]]] = []

    def set_gauge(name: str, value: float, *, labels: Any = None) -> None:
        set_calls.append((name, value, dict(labels)))

    gauge = MrrGauge(lambda _: (records, {"eur", "usd"}), set_gauge, clock=lambda: 500.0)
    gauge.emit("cus_1")
    assert set_calls == [
        (MRR, 2000, {"tenant_id": "cus_1", "currency": "eur"}),
        (MRR, 0, {"tenant_id": "cus_1", "currency": "usd"}),  # named before, silent now
    ]
