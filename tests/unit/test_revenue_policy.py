"""Revenue policy (docs/REVENUE.md, "Definitions"), one rule per test, figures worked out by hand.

Each test runs the pure pipeline a deployment runs: billing's subscription versions become
the customer's MRR change records (billing.logic.movements), the records become the
customer's timeline in the reporting currency, and the timelines become monthly totals and
the figures the revenue routes show.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from billing.logic.movements import SubscriptionVersion, mrr_changes
from billing.logic.mrr import Discount, PriceItem
from revenue.logic import views
from revenue.logic.figures import MonthFigures
from revenue.logic.fx import FxRates
from revenue.logic.months import parse_month
from revenue.logic.timeline import RecordValue, converted_points
from revenue.logic.totals import MonthDeltas
from tests.revenue_fixtures import at

USD = FxRates.parse("usd", '{"eur": 1.0841, "jpy": 0.0067}')
UNTIL = parse_month("2025-12")


def version(
    sub: str,
    when: str,
    status: str,
    items: list[PriceItem],
    *,
    currency: str = "usd",
    discounts: tuple[Discount, ...] = (),
    n: int = 0,
) -> SubscriptionVersion:
    return SubscriptionVersion(
        sub, f"{at(when):011d}.{n:03d}", at(when), status, currency, tuple(items), discounts
    )


def monthly(cents: int, quantity: int = 1) -> list[PriceItem]:
    return [PriceItem(cents, quantity, "month")]


def series_of(
    *customers: tuple[str, list[SubscriptionVersion]], fx: FxRates = USD
) -> views.MonthSeries:
    deltas = MonthDeltas()
    for customer_id, versions in customers:
        records = mrr_changes(customer_id, versions)
        points = converted_points(
            (RecordValue(r.currency, r.effective_at, r.mrr_to) for r in records), fx
        )
        deltas.add_timeline(points, +1, since=0)
    first = deltas.first_month
    assert first is not None
    return views.MonthSeries(deltas.materialize(first, UNTIL))


def month(series: views.MonthSeries, text: str) -> MonthFigures:
    return series.figures(parse_month(text))


def test_annual_plan_with_a_forever_coupon_counts_a_twelfth_less_the_coupon() -> None:
    # $1,200 a year = 120000 / 12 = 10000 a month; 25% off forever: 10000 * 0.75 = 7500.
    coupon = Discount("di_1", percent_off=Fraction(25), duration="forever")
    series = series_of(
        (
            "cus_a",
            [
                version(
                    "sub_a",
                    "2025-01-15",
                    "active",
                    [PriceItem(120000, 1, "year")],
                    discounts=(coupon,),
                )
            ],
        )
    )
    jan = month(series, "2025-01")
    assert (jan.new, jan.mrr_end, jan.customers_end) == (7500, 7500, 1)
    summary = views.summary(series, parse_month("2025-02"), 1)
    assert (summary.mrr, summary.arr, summary.arpu) == (7500, 90000, 7500)


def test_seat_changes_are_expansion_and_contraction() -> None:
    # $20 a seat: 5 seats = 10000; 8 seats = 16000 (+6000); 6 seats = 12000 (-4000).
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2025-01-01", "active", monthly(2000, 5)),
                version("sub_a", "2025-02-10", "active", monthly(2000, 8)),
                version("sub_a", "2025-03-05", "active", monthly(2000, 6)),
            ],
        )
    )
    feb, mar = month(series, "2025-02"), month(series, "2025-03")
    assert (feb.mrr_start, feb.expansion, feb.mrr_end) == (10000, 6000, 16000)
    assert (mar.mrr_start, mar.contraction, mar.mrr_end) == (16000, 4000, 12000)
    assert (
        views.churn_rates(series, parse_month("2025-03")).gross_mrr_churn_rate == 0.25
    )  # 4000 / 16000


def test_a_trial_counts_from_its_conversion_as_new() -> None:
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2024-12-20", "trialing", monthly(5000)),
                version("sub_a", "2025-01-03", "active", monthly(5000)),
            ],
        )
    )
    dec, jan = month(series, "2024-12"), month(series, "2025-01")
    assert (dec.new, dec.mrr_end, dec.customers_end) == (0, 0, 0)
    assert (jan.new, jan.mrr_end, jan.customers_end) == (5000, 5000, 1)
    cohort = views.cohort(series, parse_month("2025-01"), parse_month("2025-03"))
    assert (cohort.customers, cohort.logo_retention) == (1, (1.0, 1.0, 1.0))


def test_cancel_at_period_end_keeps_mrr_until_the_subscription_ends() -> None:
    # Canceled on Feb 10 at period end (still active), ended on Mar 1: churn in March.
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2025-01-01", "active", monthly(3000)),
                version("sub_a", "2025-02-10", "active", monthly(3000), n=1),
                version("sub_a", "2025-03-01", "canceled", monthly(3000)),
            ],
        ),
        ("cus_b", [version("sub_b", "2025-01-01", "active", monthly(1000))]),
    )
    feb, mar = month(series, "2025-02"), month(series, "2025-03")
    assert (feb.churn, feb.mrr_end) == (0, 4000)
    assert (mar.churn, mar.mrr_end, mar.customers_end) == (3000, 1000, 1)
    rates = views.churn_rates(series, parse_month("2025-03"))
    # 1 of 2 customers; (3000 + 0) / 4000; GRR (4000 - 3000) / 4000.
    assert (rates.customer_churn_rate, rates.gross_mrr_churn_rate, rates.grr, rates.nrr) == (
        0.5,
        0.75,
        0.25,
        0.25,
    )


def test_a_100_percent_coupon_is_churn_and_its_removal_a_reactivation() -> None:
    free = Discount("di_free", percent_off=Fraction(100), duration="forever")
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2025-01-01", "active", monthly(4000)),
                version("sub_a", "2025-02-01", "active", monthly(4000), discounts=(free,)),
                version("sub_a", "2025-04-01", "active", monthly(4000)),
            ],
        )
    )
    feb, apr = month(series, "2025-02"), month(series, "2025-04")
    assert (feb.churn, feb.mrr_end, feb.customers_end) == (4000, 0, 0)
    assert (apr.reactivation, apr.new, apr.mrr_end) == (4000, 0, 4000)


def test_reactivation_after_churn_keeps_the_original_cohort() -> None:
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2025-01-05", "active", monthly(2500)),
                version("sub_a", "2025-02-05", "canceled", monthly(2500)),
                version("sub_b", "2025-05-05", "active", monthly(3000)),
            ],
        )
    )
    may = month(series, "2025-05")
    assert (may.reactivation, may.new, may.customers_end) == (3000, 0, 1)
    cohort = views.cohort(series, parse_month("2025-01"), parse_month("2025-05"))
    assert cohort.logo_retention == (1.0, 0.0, 0.0, 0.0, 1.0)
    assert cohort.revenue_retention == (1.0, 0.0, 0.0, 0.0, 1.2)  # 3000 / 2500
    assert views.cohort(series, parse_month("2025-05"), parse_month("2025-05")).customers == 0


def test_a_eur_customer_is_converted_at_the_fixed_rate() -> None:
    # €49.00 at 1.0841 = 5312.09 cents -> 5312; ¥10,000 (no minor unit) at 0.0067 = $67.00.
    series = series_of(
        ("cus_eur", [version("sub_e", "2025-01-10", "active", monthly(4900), currency="eur")]),
        ("cus_jpy", [version("sub_j", "2025-01-20", "active", monthly(10000), currency="jpy")]),
        ("cus_usd", [version("sub_u", "2025-01-25", "active", monthly(1000))]),
    )
    jan = month(series, "2025-01")
    assert (jan.new, jan.mrr_end, jan.customers_end) == (5312 + 6700 + 1000, 13012, 3)
    # A rate never creates a movement: the EUR customer's MRR stays 5312 every month.
    assert month(series, "2025-06").mrr_end == 13012
    assert month(series, "2025-06").new == 0


def test_every_month_adds_up_and_chains() -> None:
    series = series_of(
        (
            "cus_a",
            [
                version("sub_a", "2025-01-01", "active", monthly(2000, 5)),
                version("sub_a", "2025-02-10", "active", monthly(2000, 8)),
                version("sub_a", "2025-04-01", "canceled", monthly(2000, 8)),
                version("sub_c", "2025-06-01", "active", monthly(900)),
            ],
        ),
        ("cus_b", [version("sub_b", "2025-03-01", "active", monthly(4900), currency="eur")]),
    )
    figures = [series.figures(m) for m in range(parse_month("2025-01"), UNTIL + 1)]
    for f in figures:
        assert f.mrr_end == (
            f.mrr_start + f.new + f.expansion + f.reactivation - f.contraction - f.churn
        )
    for earlier, later in itertools.pairwise(figures):
        assert later.mrr_start == earlier.mrr_end
        assert later.customers_start == earlier.customers_end
