"""Placeholder: the export and erasure routes are another change's; this keeps api.py importable."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

router = APIGatewayHttpRouter()
