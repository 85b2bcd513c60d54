"""Fixed exchange rates to the reporting currency (docs/REVENUE.md, "Multi-currency": a rate
never creates a movement, so a customer's MRR is converted at one configured rate, not a daily
one)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Stripe's minor units: most currencies have 2 decimals, these 0 and these 3
# (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
})  # fmt: skip
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
_CURRENCY = re.compile(r"^[a-z]{3}$")


class MissingRate(ValueError):
    """A customer pays in a currency COGNITION_FX_RATES has no rate for."""


def minor_exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


@dataclass(frozen=True)
class FxRates:
    """``rates[c]``: units of the reporting currency one unit of ``c`` is worth."""

    reporting_currency: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def parse(cls, reporting_currency: str, rates_json: str) -> FxRates:
        """From the settings' text; ValueError naming the setting and the bad entry."""
        currency = reporting_currency.strip().lower()
        if not _CURRENCY.match(currency):
            raise ValueError(
                f"COGNITION_REPORTING_CURRENCY '{reporting_currency}' is not a 3-letter code"
            )
        try:
            raw = json.loads(rates_json or "{}", parse_float=Decimal, parse_int=Decimal)
        except ValueError:
            raise ValueError("COGNITION_FX_RATES is not JSON") from None
        if not isinstance(raw, dict):
            raise ValueError('COGNITION_FX_RATES must be a JSON object like {"eur": 1.08}')
        rates: dict[str, Decimal] = {}
        for code, rate in raw.items():
            if not isinstance(code, str) or not _CURRENCY.match(code):
                raise ValueError(f"COGNITION_FX_RATES: '{code}' is not a lower-case 3-letter code")
            try:
                value = Decimal(rate)
            except (InvalidOperation, TypeError):
                raise ValueError(
                    f"COGNITION_FX_RATES: the rate of {code} is not a number"
                ) from None
            if not value.is_finite() or value <= 0:
                raise ValueError(f"COGNITION_FX_RATES: the rate of {code} must be positive")
            rates[code] = value
        if rates.get(currency, 1) != 1:
            raise ValueError(
                f"COGNITION_FX_RATES gives the reporting currency {currency} a rate of "
                f"{rates[currency]}; it must be 1 or absent"
            )
        return cls(currency, rates)

    def convert(self, amount: int, currency: str) -> int:
        """``amount`` minor units of ``currency`` in minor units of the reporting currency,
        rounded half to even."""
        if currency == self.reporting_currency:
            return amount
        rate = self.rates.get(currency)
        if rate is None:
            raise MissingRate(
                f"no exchange rate for '{currency}' in COGNITION_FX_RATES (reporting currency "
                f'{self.reporting_currency}); add one, e.g. {{"{currency}": 1.0}}'
            )
        shift = minor_exponent(self.reporting_currency) - minor_exponent(currency)
        value = Decimal(amount) * rate * Decimal(10) ** shift
        return int(value.to_integral_value(ROUND_HALF_EVEN))

    @property
    def fingerprint(self) -> str:
        """Changes whenever the conversion would: the rollup then recomputes every month."""
        text = json.dumps(
            [
                self.reporting_currency,
                sorted((c, str(r.normalize())) for c, r in self.rates.items()),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]
