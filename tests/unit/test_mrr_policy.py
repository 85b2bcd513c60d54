"""The MRR rules (docs/REVENUE.md, "Definitions"; docs/ARCHITECTURE.md), rule by rule,
against figures computed by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from billing.logic.coupons import coupon_terms, discount_of, discount_ref
from billing.logic.mrr import Discount, PriceItem, subscription_mrr


def mrr(
    *items: PriceItem, status: str = "active", discounts: tuple[Discount, ...] = (), at: int = 1000
) -> int:
    return subscription_mrr("sub_1", status, items, discounts, currency="usd", at=at)


def test_monthly_items_are_unit_amount_times_quantity() -> None:
    # 2 seats at $20 + 1 add-on at $5 = $45.00
    assert mrr(PriceItem(2000, 2, "month"), PriceItem(500, 1, "month")) == 4500


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (PriceItem(120_000, 1, "year"), 10_000),  # $1,200 a year = $100 a month
        (PriceItem(1000, 1, "week"), 4333),  # $10 x 52 / 12 = $43.333...
        (PriceItem(100, 1, "day"), 3042),  # $1 x 365 / 12 = $30.4166...
        (PriceItem(3000, 1, "month", interval_count=3), 1000),  # $30 a quarter
        (PriceItem(240_000, 1, "year", interval_count=2), 10_000),  # $2,400 every 2 years
    ],
)
def test_intervals_are_normalised_to_a_month(item: PriceItem, expected: int) -> None:
    assert mrr(item) == expected


def test_rounding_is_once_per_subscription_half_to_even() -> None:
    assert mrr(PriceItem(30, 1, "year")) == 2  # 2.5 -> 2
    assert mrr(PriceItem(42, 1, "year")) == 4  # 3.5 -> 4
    # Two items of 2.5 each: 5 exactly, not 2 + 2.
    assert mrr(PriceItem(30, 1, "year"), PriceItem(30, 1, "year")) == 5


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        ("active", True),
        ("past_due", True),
        ("trialing", False),
        ("incomplete", False),
        ("incomplete_expired", False),
        ("unpaid", False),
        ("canceled", False),
        ("paused", False),
    ],
)
def test_only_active_and_past_due_count(status: str, counted: bool) -> None:
    assert mrr(PriceItem(5000, 1, "month"), status=status) == (5000 if counted else 0)


def test_percent_off_applies_to_the_whole_subscription() -> None:
    twenty = Discount("di_1", percent_off=Fraction(20))
    assert mrr(PriceItem(5000, 1, "month"), discounts=(twenty,)) == 4000


def test_amount_off_is_per_billing_period_so_an_annual_one_is_spread_over_twelve_months() -> None:
    off = Discount("di_1", amount_off=12_000, currency="usd")
    # $1,200 a year less $120 a year = $90 a month
    assert mrr(PriceItem(120_000, 1, "year"), discounts=(off,)) == 9000


def test_annual_plan_with_a_forever_coupon() -> None:
    coupon = discount_of(
        discount_ref(
            {"id": "di_1", "coupon": {"id": "LAUNCH", "percent_off": 12.5, "duration": "forever"}}
        ),
        {},
    )
    assert coupon is not None
    # $990 a year = $82.50 a month; 12.5% off = $72.1875 -> 7219 cents
    assert mrr(PriceItem(99_000, 1, "year"), discounts=(coupon,)) == 7219


def test_a_discount_in_another_currency_does_not_apply() -> None:
    euros = Discount("di_1", amount_off=500, currency="eur")
    assert mrr(PriceItem(5000, 1, "month"), discounts=(euros,)) == 5000


def test_a_repeating_discount_stops_at_its_end_and_a_once_discount_never_lowers_mrr() -> None:
    repeating = Discount("di_1", percent_off=Fraction(50), duration="repeating", start=0, end=2000)
    once = Discount("di_2", percent_off=Fraction(50), duration="once", start=0)
    item = PriceItem(5000, 1, "month")
    assert mrr(item, discounts=(repeating,), at=1999) == 2500
    assert mrr(item, discounts=(repeating,), at=2000) == 5000
    assert mrr(item, discounts=(once,)) == 5000


def test_a_hundred_percent_coupon_makes_mrr_zero_and_amounts_never_go_negative() -> None:
    free = Discount("di_1", percent_off=Fraction(100))
    too_much = Discount("di_2", amount_off=9999, currency="usd")
    assert mrr(PriceItem(5000, 1, "month"), discounts=(free,)) == 0
    assert mrr(PriceItem(5000, 1, "month"), discounts=(too_much,)) == 0


def test_a_discount_on_another_subscription_does_not_apply() -> None:
    other = Discount("di_1", percent_off=Fraction(50), subscription="sub_other")
    assert mrr(PriceItem(5000, 1, "month"), discounts=(other,)) == 5000


def test_clover_discounts_carry_the_coupon_under_source_expanded_or_by_id() -> None:
    coupon = {"id": "X", "amount_off": 100, "currency": "usd", "duration": "forever"}
    expanded = discount_of(discount_ref({"id": "di_1", "source": {"coupon": coupon}}), {})
    by_id = discount_ref({"id": "di_2", "source": {"type": "coupon", "coupon": "X"}})
    assert expanded is not None
    assert (expanded.amount_off, expanded.currency) == (100, "usd")
    assert by_id["coupon_id"] == "X"
    assert discount_of(by_id, {}) is None  # terms unknown until the coupon is
    known = discount_of(by_id, {"X": coupon_terms(coupon)})
    assert known is not None and (known.amount_off, known.duration) == (100, "forever")
