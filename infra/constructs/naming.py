"""Construct ids and output names derived from topology names."""

from __future__ import annotations

import re


def pascal(name: str) -> str:
    """``billing-events`` -> ``BillingEvents``; ``/v1/keys/{key_id}`` -> ``V1KeysKeyId``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))
