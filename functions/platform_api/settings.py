"""Settings of the platform API function."""

from __future__ import annotations

import functools

from pydantic import Field

from cognitionos.http import ApiKeyAuthSettings
from cognitionos.settings import load_settings


class PlatformApiSettings(ApiKeyAuthSettings):
    # job name -> the Lambda function that runs it (JSON, from the topology)
    job_functions: dict[str, str] = Field(default_factory=dict)


@functools.cache
def platform_settings() -> PlatformApiSettings:
    return load_settings(PlatformApiSettings)
