#!/usr/bin/env python3
"""CDK entry point: one CognitionOS stack built from the topology, checked by cdk-nag."""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.constructs.function_code import VendoredFileMissing
from infra.constructs.settings import SettingError
from infra.stack import CognitionOSStack


def build(app: App) -> CognitionOSStack:
    """Add the stack and the AwsSolutions checks to ``app`` (tests call this too)."""
    stack = CognitionOSStack(
        app,
        "CognitionOS",
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    app = App()
    try:
        build(app)
    except (SettingError, VendoredFileMissing) as exc:
        # The operator's input or checkout is at fault: the message says what to do.
        sys.exit(f"app.py: {exc}")
    app.synth()
