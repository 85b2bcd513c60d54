"""The messages of the billing-events queue, told apart by their JSON ``object`` field.

A raw Stripe event (``"object": "event"``) is the default: any ``object`` without a parser
of its own goes to ``envelope_from``, which refuses what is not an event. A new kind of
message is one entry in ``PARSERS`` and one branch where the processor applies it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from billing.logic.envelope import envelope_from
from billing.models.events import REDERIVE, ClaimCheck, RederiveRequest, StripeEventEnvelope

QueuedMessage = StripeEventEnvelope | ClaimCheck | RederiveRequest

PARSERS: dict[str, Callable[[Any], QueuedMessage]] = {
    "cognitionos.claim_check": ClaimCheck.model_validate,
    REDERIVE: RederiveRequest.model_validate,
}


def parse_message(body: str) -> QueuedMessage:
    """One queue message body as the message it is."""
    message = json.loads(body)
    kind = message.get("object") if isinstance(message, dict) else None
    parse = PARSERS.get(kind, envelope_from) if isinstance(kind, str) else envelope_from
    return parse(message)
