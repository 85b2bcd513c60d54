"""GET /v1/billing/events and /v1/billing/events/{event_id}: the Stripe event log."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from billing.dal.event_log import EventLog, event_record
from billing.models.events import EventRecord, EventStatus
from billing.settings import api_settings
from cognitionos.aws import dynamodb_table
from cognitionos.errors import Forbidden, NotFound
from cognitionos.http import current_principal, require_scope

router = APIGatewayHttpRouter()
billing_read = require_scope("billing:read")


def _event_log() -> EventLog:
    return EventLog(dynamodb_table(api_settings().billing_table))


@router.get("/v1/billing/events", middlewares=[billing_read], tags=["billing"])
def list_events(
    status: Annotated[EventStatus | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    customer: Annotated[str | None, Query(pattern=r"^cus_[A-Za-z0-9]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """The event log, newest first, filtered by status, type and customer; a tenant-bound
    key sees only its customer's events."""
    principal = current_principal(router)
    if customer and not principal.can_see_tenant(customer):
        raise Forbidden("this API key is bound to another customer")
    page = _event_log().list(
        status=status,
        event_type=type,
        customer_id=principal.tenant_id or customer,
        limit=limit,
        next_token=next_token,
    )
    return {"events": [e.model_dump() for e in page.events], "next_token": page.next_token}


@router.get("/v1/billing/events/<event_id>", middlewares=[billing_read], tags=["billing"])
def get_event(event_id: Annotated[str, Path(max_length=128)]) -> EventRecord:
    item = _event_log().get(event_id)
    principal = current_principal(router)
    if item is None or not principal.can_see_tenant(item.get("customer_id")):
        raise NotFound(f"no event {event_id}")
    return event_record(item)
