"""Schemathesis hooks for tests/e2e/test_schemathesis.py (``SCHEMATHESIS_HOOKS``).

Stripe signs each webhook over its exact bytes, and no schema can say which signatures are
right. A request the document calls valid is signed here as Stripe would sign it, with the
runner's webhook secret (``COGNITION_E2E_WEBHOOK_SECRET``), so it must be accepted: every
event the document admits reaches the intake and is answered 200. An invalid one keeps the
signature Schemathesis made up and is refused at the signature check, as it would be.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

import schemathesis

WEBHOOK = "/webhooks/stripe"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if case.operation.path != WEBHOOK or meta is None or not meta.generation.mode.is_positive:
        return
    if not isinstance(case.body, dict) or case.headers is None:
        return
    # Schemathesis hands a JSON body to requests, which sends json.dumps of it.
    payload = json.dumps(case.body, allow_nan=False).encode()
    timestamp = int(time.time())
    secret = os.environ["COGNITION_E2E_WEBHOOK_SECRET"].encode()
    digest = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    case.headers["Stripe-Signature"] = f"t={timestamp},v1={digest}"
