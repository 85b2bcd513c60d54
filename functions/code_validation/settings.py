"""Settings of the code validation functions, read once per execution environment."""

from __future__ import annotations

import functools

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import FunctionSettings, load_settings


class ValidatorSettings(FunctionSettings):
    """The validator reads nothing from its environment but Lambda's own variables."""


class ValidationApiSettings(ApiKeyAuthSettings):
    code_validate_function: str


@functools.cache
def validator_settings() -> ValidatorSettings:
    return load_settings(ValidatorSettings)


@functools.cache
def api_settings() -> ValidationApiSettings:
    return load_settings(ValidationApiSettings)
