"""What the export and erasure routes are built from, once per execution environment."""

from __future__ import annotations

import functools

from cognitionos.aws import dynamodb_table
from privacy.dal.exports import ExportFiles
from privacy.dal.requests import PrivacyRequests
from privacy.settings import api_settings


@functools.cache
def privacy_requests() -> PrivacyRequests:
    return PrivacyRequests(dynamodb_table(api_settings().privacy_table))


@functools.cache
def export_files() -> ExportFiles:
    return ExportFiles(api_settings().privacy_exports_bucket)
