"""Re-sign the sample Stripe webhook with your webhook secret and the current time.

The ``stripe-signature`` header in ``events/apigw/post_webhooks_stripe.json`` is a stale
placeholder, so the ingest function answers 400 to it. This script rewrites that header
(``t=<now>,v1=<HMAC-SHA256(secret, "<t>.<raw body>")>``, Stripe's scheme) and the request
time, leaving the body byte for byte as it is. Invoke within 300 s of signing.

    export STRIPE_WEBHOOK_SECRET=whsec_...
    python events/sign_webhook.py
    python events/sign_webhook.py --header events/stripe/invoice.paid.json

``--header FILE`` prints only the header for FILE's raw bytes (for ``curl --data-binary @FILE``)
and writes nothing. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent / "apigw" / "post_webhooks_stripe.json"


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value Stripe would send for ``payload`` at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def raw_body(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8")
    return str(body)


def resigned(event: dict[str, Any], secret: str, timestamp: int) -> dict[str, Any]:
    """A copy of the API Gateway v2 ``event`` signed with ``secret`` at ``timestamp``."""
    event = json.loads(json.dumps(event))
    event["headers"]["stripe-signature"] = signature_header(raw_body(event), secret, timestamp)
    context = event["requestContext"]
    context["timeEpoch"] = timestamp * 1000
    context["time"] = datetime.fromtimestamp(timestamp, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", type=Path, metavar="FILE", help="print the header for FILE")
    parser.add_argument("--event", type=Path, default=SAMPLE, help="API Gateway event to rewrite")
    args = parser.parse_args(argv)
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "").strip()
    if not secret:
        print("set STRIPE_WEBHOOK_SECRET (whsec_...)", file=sys.stderr)
        return 2
    now = int(time.time())
    if args.header:
        print(signature_header(args.header.read_bytes().decode("utf-8"), secret, now))
        return 0
    event = resigned(json.loads(args.event.read_text(encoding="utf-8")), secret, now)
    text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    args.event.write_text(text, encoding="utf-8")
    print(f"signed {args.event} at t={now}; invoke it within 300 s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
