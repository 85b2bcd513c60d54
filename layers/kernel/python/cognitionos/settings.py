"""Function settings: one pydantic-settings model per function, validated once at cold start."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    """Base for every function's settings: read from the environment, immutable."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")


class SettingsError(RuntimeError):
    """A required environment variable is missing or invalid; raised at cold start."""


SettingsT = TypeVar("SettingsT", bound=FunctionSettings)


def load_settings(model: type[SettingsT]) -> SettingsT:
    """Build ``model`` from the environment, or fail naming every bad variable."""
    try:
        return model()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"{model.__name__} is invalid: {problems}") from None
