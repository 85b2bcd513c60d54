"""A scripted half year for the revenue routes: seven customers' Stripe events in 2025 and the
monthly figures worked out by hand (docs/REVENUE.md), in cents of USD at EUR 1 = USD 1.10.

The stories (told with tests/scenarios.py's story teller; every change lands on or before the
20th of its month, at a random day and hour for the seed):

- A: Pro 5000, January.                       new 5000 in January
- B: Basic 2000, January; Pro in March.       new 2000 in January, expansion 3000 in March
- C: 3 seats at 1000, February; 2 in April.   new 3000 in February, contraction 1000 in April
- D: annual 120000 with 25 % off, February.   new 7500 in February (120000 / 12 * 0.75)
- E: Starter trial from Feb 21, 14 days.      new 3000 in March, when it converts
- F: Basic 2000, January; canceled in April;  new 2000 in January, churn 2000 in April,
     Pro again in June.                        reactivation 5000 in June
- G: Basic EUR 2000, March.                   new 2200 in March (2000 * 1.10)

Month by month (start, new, expansion, contraction, churn, reactivation, end, customers):

    2025-01      0   9000     0     0     0     0   9000   0 -> 3
    2025-02   9000  10500     0     0     0     0  19500   3 -> 5
    2025-03  19500   5200  3000     0     0     0  27700   5 -> 7
    2025-04  27700      0     0  1000  2000     0  24700   7 -> 6
    2025-05  24700      0     0     0     0     0  24700   6 -> 6
    2025-06  24700      0     0     0     0  5000  29700   6 -> 7

April's rates: 1 of 7 customers churned (0.1429); gross and net MRR churn 3000 / 27700
(0.1083); GRR and NRR (27700 - 2000 - 1000) / 27700 (0.8917). The January cohort (A, B, F:
3 customers, 9000) pays 9000, 9000, 12000, 10000, 10000, 15000 at the ends of January to
June: revenue retention 1, 1, 1.3333, 1.1111, 1.1111, 1.6667; logo retention 1, 1, 1,
0.6667, 0.6667, 1. On 2025-06-30: MRR 29700, ARR 356400, 7 paying, ARPU 4243 (29700 / 7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.scenarios import (
    ANNUAL,
    BASIC,
    DAY,
    HOUR,
    PRO,
    SEAT,
    STARTER,
    Price,
    _Script,
    _Story,
    month_start,
)

BASIC_EUR = Price("price_basic_eur", "prod_basic", 2000, currency="eur")
FX_RATES = '{"eur": 1.1}'
HALF_YEAR_END = month_start(7)

MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")
# month -> (mrr_start, new, expansion, contraction, churn, reactivation, mrr_end,
#           customers_start, customers_end)
EXPECTED_MONTHS = {
    "2025-01": (0, 9000, 0, 0, 0, 0, 9000, 0, 3),
    "2025-02": (9000, 10500, 0, 0, 0, 0, 19500, 3, 5),
    "2025-03": (19500, 5200, 3000, 0, 0, 0, 27700, 5, 7),
    "2025-04": (27700, 0, 0, 1000, 2000, 0, 24700, 7, 6),
    "2025-05": (24700, 0, 0, 0, 0, 0, 24700, 6, 6),
    "2025-06": (24700, 0, 0, 0, 0, 5000, 29700, 6, 7),
}
EXPECTED_APRIL_CHURN = {
    "month": "2025-04",
    "customer_churn_rate": 0.1429,
    "gross_mrr_churn_rate": 0.1083,
    "net_mrr_churn_rate": 0.1083,
    "grr": 0.8917,
    "nrr": 0.8917,
}
EXPECTED_JANUARY_COHORT = {
    "customers": 3,
    "logo_retention": [1.0, 1.0, 1.0, 0.6667, 0.6667, 1.0],
    "revenue_retention": [1.0, 1.0, 1.3333, 1.1111, 1.1111, 1.6667],
}
EXPECTED_SUMMARY_JUNE_30 = {
    "as_of": "2025-06-30",
    "currency": "usd",
    "mrr": 29700,
    "arr": 356400,
    "paying_customers": 7,
    "arpu": 4243,
}


@dataclass
class HalfYear:
    events: list[dict[str, Any]]
    customer_ids: list[str]


def revenue_half_year(seed: int = 0) -> HalfYear:
    rng = random.Random(f"revenue-{seed}")

    def when(month: int) -> int:
        return month_start(month) + rng.randint(0, 18) * DAY + rng.randint(8, 18) * HOUR + 30

    events: list[dict[str, Any]] = []
    ids = []
    for letter, tell in STORIES:
        customer_id = f"cus_rv{seed}{letter}"
        script = _Script(customer_id)
        story = _Story(script, customer_id, f"{letter.lower()}@example.com", f"Customer {letter}")
        tell(story, when)
        events += script.events
        ids.append(customer_id)
    events.sort(key=lambda e: e["created"])
    return HalfYear(events, ids)


def _a(c: _Story, when: Any) -> None:
    c.sign_up(start := when(1))
    c.renew_until(c.subscribe(PRO, start + 15), HALF_YEAR_END)


def _b(c: _Story, when: Any) -> None:
    c.sign_up(start := when(1))
    sub = c.subscribe(BASIC, start + 15)
    c.renew_until(sub, upgrade := when(3))
    c.change(sub, upgrade, price=PRO)
    c.renew_until(sub, HALF_YEAR_END)


def _c(c: _Story, when: Any) -> None:
    c.sign_up(start := when(2))
    sub = c.subscribe(SEAT, start + 15, quantity=3)
    c.renew_until(sub, fewer := when(4))
    c.change(sub, fewer, quantity=2)
    c.renew_until(sub, HALF_YEAR_END)


def _d(c: _Story, when: Any) -> None:
    c.sign_up(start := when(2))
    c.subscribe(ANNUAL, start + 15, percent_off=25)


def _e(c: _Story, when: Any) -> None:
    start = month_start(2) + 20 * DAY + 10 * HOUR  # Feb 21: the trial ends on Mar 7
    c.sign_up(start)
    sub = c.start_trial(STARTER, start + 15)
    c.convert_trial(sub)
    c.renew_until(sub, HALF_YEAR_END)


def _f(c: _Story, when: Any) -> None:
    c.sign_up(start := when(1))
    first = c.subscribe(BASIC, start + 15)
    c.renew_until(first, stop := when(4))
    c.cancel_now(first, stop)
    c.renew_until(c.subscribe(PRO, when(6)), HALF_YEAR_END)


def _g(c: _Story, when: Any) -> None:
    c.customer["currency"] = "eur"
    c.sign_up(start := when(3))
    c.renew_until(c.subscribe(BASIC_EUR, start + 15), HALF_YEAR_END)


STORIES = (("a", _a), ("b", _b), ("c", _c), ("d", _d), ("e", _e), ("f", _f), ("g", _g))
