"""GET /v1/billing/events and /v1/billing/events/{event_id}: the Stripe event log."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from billing.dal.event_log import EventLog, event_record
from billing.models.events import EventPage, EventRecord, EventStatus
from billing.settings import api_settings
from cognitionos.auth import TENANT_PATTERN
from cognitionos.aws import dynamodb_table
from cognitionos.errors import Forbidden, NotFound
from cognitionos.http import (
    FORBIDDEN,
    INVALID,
    PAGE_EXAMPLES,
    UNAUTHORIZED,
    Limit,
    NextToken,
    current_principal,
    documented_responses,
    require_scope,
)

router = APIGatewayHttpRouter()
billing_read = require_scope("billing:read")
TENANT_NOTE = "A tenant-bound key sees only its customer's events."


def _event_log() -> EventLog:
    return EventLog(dynamodb_table(api_settings().billing_table))


@router.get(
    "/v1/billing/events",
    middlewares=[billing_read],
    tags=["billing"],
    summary="List Stripe events",
    description=(
        "The event log, newest first: every Stripe event received, with its status. "
        f"Filters combine. {TENANT_NOTE} Needs `billing:read`."
    ),
    responses=documented_responses(
        "A page of events",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN + ", or a tenant-bound key asks for another customer",
            400: "`next_token` is not one this listing issued",
            422: INVALID,
        },
        examples=PAGE_EXAMPLES,
    ),
)
def list_events(
    status: Annotated[
        EventStatus | None,
        Query(
            description="Only events in this status",
            openapi_examples={"failed": {"value": "failed"}},
        ),
    ] = None,
    type: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="Only events of this Stripe type",
            openapi_examples={"invoice.paid": {"value": "invoice.paid"}},
        ),
    ] = None,
    customer: Annotated[
        str | None,
        Query(
            pattern=TENANT_PATTERN,
            description="Only this Stripe customer's events",
            openapi_examples={"a customer": {"value": "cus_NffrFeUfNV2Hib"}},
        ),
    ] = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> EventPage:
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
    return EventPage(events=page.events, next_token=page.next_token)


@router.get(
    "/v1/billing/events/<event_id>",
    middlewares=[billing_read],
    tags=["billing"],
    summary="Get a Stripe event",
    description=(
        "One event of the log: its metadata and status, never its payload (it carries "
        f"personal data). {TENANT_NOTE} Needs `billing:read`."
    ),
    responses=documented_responses(
        "The event",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: "No event has this id, or it is another tenant's",
            422: INVALID,
        },
        examples={404: "no event evt_1QZ3nKFx8cLr0aB2"},
    ),
)
def get_event(
    event_id: Annotated[
        str,
        Path(
            max_length=128,
            description="Stripe's event id",
            openapi_examples={"an event": {"value": "evt_1QZ3nKFx8cLr0aB2"}},
        ),
    ],
) -> EventRecord:
    item = _event_log().get(event_id)
    principal = current_principal(router)
    if item is None or not principal.can_see_tenant(item.get("customer_id")):
        raise NotFound(f"no event {event_id}")
    return event_record(item)
