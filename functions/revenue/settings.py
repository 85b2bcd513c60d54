"""Settings of the revenue functions, one model each, read once per execution environment."""

from __future__ import annotations

import functools

from pydantic import Field, model_validator

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings
from revenue.logic.fx import FxRates

CURRENCY_PATTERN = r"^[a-z]{3}$"


class RollupSettings(FunctionSettings):
    revenue_table: str
    billing_table: str  # read only through its MRR change feed index
    cognition_fx_rates: str = "{}"
    cognition_reporting_currency: str = Field(default="usd", pattern=CURRENCY_PATTERN)

    @model_validator(mode="after")
    def _rates_parse(self) -> RollupSettings:
        self.fx  # noqa: B018 (parses; a ValueError names the variable and the bad entry)
        return self

    @property
    def fx(self) -> FxRates:
        return FxRates.parse(self.cognition_reporting_currency, self.cognition_fx_rates)


class RevenueApiSettings(ApiKeyAuthSettings):
    revenue_table: str
    # Shown while no rollup has run; afterwards the currency the totals were built in.
    cognition_reporting_currency: str = Field(default="usd", pattern=CURRENCY_PATTERN)


@functools.cache
def rollup_settings() -> RollupSettings:
    return load_settings(RollupSettings)


@functools.cache
def api_settings() -> RevenueApiSettings:
    return load_settings(RevenueApiSettings)
