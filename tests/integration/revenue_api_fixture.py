"""A stand-in for the revenue API on 127.0.0.1: the dashboard page as our code assembles it,
and realistic figures answered as the revenue routes shape them (docs/REVENUE.md, "Routes").

Two businesses, by key: a growing one (14 months, a cohort a month, a narrow forecast band)
and a young one (three months of a few $49 customers, with the zero months and empty cohorts
the real API answers before the first revenue, and the real forecast's wide band over so
little history). The figures obey the routes' arithmetic (``mrr_end = mrr_start + new +
expansion + reactivation - contraction - churn``; rates from the same month), relative to
the current UTC month, so the page's default period always finds them.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from revenue.dashboard.loader import dashboard_page
from revenue.logic.figures import MonthFigures
from revenue.logic.forecast import forecast_mrr
from revenue.logic.months import month_text, parse_month

GOOD_KEY = "cos_dashkey01_s3cr3tvalue"
REFUSED_KEY = "cos_revoked01_gone"
NO_SCOPE_KEY = "cos_billing01_billingonly"
EMPTY_KEY = "cos_emptyco01_nothingyet"
YOUNG_KEY = "cos_youngco01_threemonths"
CURRENCY = "usd"
HISTORY_MONTHS = 14


def this_month() -> int:
    now = datetime.now(UTC)
    return now.year * 12 + now.month - 1


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def build_months(end: int, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` months of a young SaaS ending with month ``end``: growth, some churn."""
    rng = random.Random(seed)
    months: list[dict[str, Any]] = []
    mrr, customers = 0, 0
    for offset in range(count):
        month = end - count + 1 + offset
        new_customers = rng.randint(14, 26)
        churned = round(customers * rng.uniform(0.02, 0.05))
        arpu = mrr // customers if customers else 0
        reactivated = rng.choice([0, 0, 1]) if offset >= 4 else 0
        row = {
            "month": month_text(month),
            "mrr_start": mrr,
            "new": new_customers * rng.randint(9_000, 14_000),
            "expansion": int(mrr * rng.uniform(0.01, 0.04)),
            "contraction": int(mrr * rng.uniform(0.004, 0.012)),
            "churn": churned * arpu,
            "reactivation": reactivated * 9_900,
            "customers_start": customers,
        }
        mrr = (
            mrr
            + row["new"]
            + row["expansion"]
            + row["reactivation"]
            - row["contraction"]
            - row["churn"]
        )
        customers = customers + new_customers + reactivated - churned
        row |= {"mrr_end": mrr, "customers_end": customers, "_churned": churned}
        months.append(row)
    return months


def churn_rates(row: dict[str, Any]) -> dict[str, Any]:
    start = row["mrr_start"]
    lost = row["churn"] + row["contraction"]
    return {
        "month": row["month"],
        "customer_churn_rate": _ratio(row["_churned"], row["customers_start"]),
        "gross_mrr_churn_rate": _ratio(lost, start),
        "net_mrr_churn_rate": _ratio(lost - row["expansion"] - row["reactivation"], start),
        "grr": _ratio(start - lost, start),
        "nrr": _ratio(start + row["expansion"] - lost, start),
    }


def build_cohorts(months: list[dict[str, Any]], end: int) -> list[dict[str, Any]]:
    """One cohort per month but the current one: retention decays, revenue partly expands."""
    rng = random.Random(11)
    cohorts = []
    for row in months[:-1]:
        cohort = parse_month(row["month"])
        logos, revenue = [1.0], [1.0]
        for _ in range(end - cohort):
            logos.append(round(logos[-1] * rng.uniform(0.9, 0.99), 4))
            revenue.append(round(revenue[-1] * rng.uniform(0.93, 1.05), 4))
        customers = row["customers_end"] - row["customers_start"] + row["_churned"]
        cohorts.append(
            {
                "cohort": row["month"],
                "customers": customers,
                "logo_retention": logos,
                "revenue_retention": revenue,
            }
        )
    return cohorts


def build_forecast(last_mrr: int, end: int, months: int) -> dict[str, Any]:
    points = []
    for k in range(1, months + 1):
        mrr = round(last_mrr * 1.035**k)
        spread = round(mrr * 0.03 * k**0.5)  # uncertainty grows with the horizon
        points.append(
            {"month": month_text(end + k), "mrr": mrr, "low": mrr - spread, "high": mrr + spread}
        )
    return {"method": "linear_trend", "points": points}


def _row(
    month: int,
    start: int,
    customers: tuple[int, int],
    churned: int = 0,
    **moves: int,
) -> dict[str, Any]:
    kinds = ("new", "expansion", "contraction", "churn", "reactivation")
    row: dict[str, Any] = {"month": month_text(month), "mrr_start": start}
    row |= {kind: moves.get(kind, 0) for kind in kinds}
    gains = row["new"] + row["expansion"] + row["reactivation"]
    row["mrr_end"] = start + gains - row["contraction"] - row["churn"]
    row |= {"customers_start": customers[0], "customers_end": customers[1], "_churned": churned}
    return row


def young_months(end: int) -> list[dict[str, Any]]:
    """A business three months old, in a 14-month window: zeros before its first month.

    M-3: A pays $49. M-2: B pays $49. M-1: C, D and E pay $49 each and B leaves. This month
    so far: A doubles to $98. MRR $49, $98, $196, $245.
    """
    first = end - 3
    months = [_row(m, 0, (0, 0)) for m in range(end - HISTORY_MONTHS + 1, first)]
    months.append(_row(first, 0, (0, 1), new=4900))
    months.append(_row(first + 1, 4900, (1, 2), new=4900))
    months.append(_row(first + 2, 9800, (2, 4), churned=1, new=14_700, churn=4900))
    months.append(_row(end, 19_600, (4, 4), expansion=4900))
    return months


def young_cohorts(end: int) -> list[dict[str, Any]]:
    """Every month of the window, as the API answers: empty cohorts before the first."""

    def cohort(month: int, customers: int, logos: list[float], revenue: list[float]) -> Any:
        return {
            "cohort": month_text(month),
            "customers": customers,
            "logo_retention": logos,
            "revenue_retention": revenue,
        }

    first = end - 3
    cohorts = [
        cohort(m, 0, [0.0] * (end - m + 1), [0.0] * (end - m + 1))
        for m in range(end - HISTORY_MONTHS + 1, first)
    ]
    cohorts.append(cohort(first, 1, [1.0] * 4, [1.0, 1.0, 1.0, 2.0]))  # A, doubled this month
    cohorts.append(cohort(first + 1, 1, [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]))  # B, gone
    cohorts.append(cohort(first + 2, 3, [1.0, 1.0], [1.0, 1.0]))  # C, D, E
    cohorts.append(cohort(end, 0, [0.0], [0.0]))
    return cohorts


def real_forecast(months: list[dict[str, Any]], end: int, count: int) -> dict[str, Any]:
    """What the forecast route answers for these months (the same fit, not a stand-in)."""
    history = [
        MonthFigures(**{k: v for k, v in row.items() if not k.startswith("_")})
        for row in months
        if parse_month(row["month"]) < end
    ]
    current = months[-1]["mrr_end"]
    result = forecast_mrr(history[-12:], current_mrr=current, first_month=end + 1, months=count)
    return {"method": result.method, "points": [vars(p) for p in result.points]}


@dataclass
class RevenueFigures:
    """What the fixture API answers for one business."""

    end: int = field(default_factory=this_month)
    months: list[dict[str, Any]] = field(default_factory=list)
    cohort_rows: list[dict[str, Any]] | None = None  # by default, one per month but this one
    forecast_of: str = "trend"  # "trend": a fixed 3.5% a month; "model": the real forecast

    def __post_init__(self) -> None:
        if not self.months:
            self.months = build_months(self.end, HISTORY_MONTHS)

    @classmethod
    def young(cls) -> RevenueFigures:
        end = this_month()
        return cls(end, young_months(end), young_cohorts(end), forecast_of="model")

    def public_months(self, start: int, end: int) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in row.items() if not k.startswith("_")}
            for row in self.months
            if start <= parse_month(row["month"]) <= end
        ]

    def churn(self, month: str) -> dict[str, Any]:
        [row] = [row for row in self.months if row["month"] == month]
        return churn_rates(row)

    def cohorts(self, start: int, end: int) -> list[dict[str, Any]]:
        rows = self.cohort_rows
        if rows is None:
            rows = build_cohorts(self.months, self.end)
        return [c for c in rows if start <= parse_month(c["cohort"]) <= end]

    def summary(self) -> dict[str, Any]:
        last = self.months[-1]
        mrr, paying = last["mrr_end"], last["customers_end"]
        return {
            "as_of": datetime.now(UTC).date().isoformat(),
            "currency": CURRENCY,
            "mrr": mrr,
            "arr": mrr * 12,
            "paying_customers": paying,
            "arpu": round(mrr / paying),
        }

    def forecast(self, months: int) -> dict[str, Any]:
        if self.forecast_of == "model":
            return real_forecast(self.months, self.end, months)
        return build_forecast(self.months[-1]["mrr_end"], self.end, months)


def _empty_answer(path: str, query: dict[str, str]) -> dict[str, Any]:
    """A new install before its first rollup: zero months, no cohorts, no forecast."""
    if path == "/v1/revenue/summary":
        return {
            "as_of": datetime.now(UTC).date().isoformat(),
            "currency": CURRENCY,
            "mrr": 0,
            "arr": 0,
            "paying_customers": 0,
            "arpu": 0,
        }
    if path == "/v1/revenue/mrr":
        fields = ["mrr_start", "new", "expansion", "contraction", "churn", "reactivation"]
        zero = dict.fromkeys([*fields, "mrr_end", "customers_start", "customers_end"], 0)
        start, stop = parse_month(query["start"]), parse_month(query["end"])
        return {
            "currency": CURRENCY,
            "months": [{"month": month_text(m), **zero} for m in range(start, stop + 1)],
        }
    if path == "/v1/revenue/cohorts":
        return {"cohorts": []}
    if path == "/v1/revenue/forecast":
        return {"method": "linear_trend", "points": []}
    raise LookupError(path)


@dataclass
class FixtureApi:
    url: str
    figures: RevenueFigures
    young: RevenueFigures  # what YOUNG_KEY reads
    seen: list[tuple[str, str | None]]  # (path with query, Authorization header)


def _handler(
    figures: RevenueFigures, young: RevenueFigures, seen: list[tuple[str, str | None]]
) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/dashboard":
                page = dashboard_page()
                headers = {"Content-Type": "text/html; charset=utf-8", **page.headers}
                self._send(200, page.html.encode(), headers)
                return
            authorization = self.headers.get("Authorization")
            seen.append((self.path, authorization))
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if authorization == f"Bearer {REFUSED_KEY}":
                self._json(401, {"message": "invalid API key"})
            elif authorization == f"Bearer {NO_SCOPE_KEY}":
                self._json(403, {"message": "this API key lacks the revenue:read scope"})
            elif authorization == f"Bearer {EMPTY_KEY}":
                self._json(200, _empty_answer(parts.path, query))
            elif authorization == f"Bearer {YOUNG_KEY}":
                self._answer(young, parts.path, query)
            elif authorization != f"Bearer {GOOD_KEY}":
                self._json(401, {"message": "missing or unknown API key"})
            else:
                self._answer(figures, parts.path, query)

        def _answer(self, figures: RevenueFigures, path: str, query: dict[str, str]) -> None:
            start = parse_month(query.get("start", month_text(figures.end - 11)))
            end = parse_month(query.get("end", month_text(figures.end)))
            if path == "/v1/revenue/summary":
                self._json(200, figures.summary())
            elif path == "/v1/revenue/mrr":
                months = figures.public_months(start, end)
                self._json(200, {"currency": CURRENCY, "months": months})
            elif path == "/v1/revenue/churn":
                self._json(200, figures.churn(query["month"]))
            elif path == "/v1/revenue/cohorts":
                self._json(200, {"cohorts": figures.cohorts(start, end)})
            elif path == "/v1/revenue/forecast":
                self._json(200, figures.forecast(int(query.get("months", "12"))))
            else:
                self._json(404, {"message": f"no route GET {path}"})

    return Handler


@contextmanager
def fixture_api() -> Iterator[FixtureApi]:
    figures, young, seen = RevenueFigures(), RevenueFigures.young(), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(figures, young, seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield FixtureApi(f"http://{host}:{port}", figures, young, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
