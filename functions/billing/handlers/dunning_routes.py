"""GET /v1/billing/dunning: dunning cases, filtered by status."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from billing.dal.dunning_cases import DunningCases
from billing.logic.dunning import CaseStatus
from billing.models.dunning import DunningCasePage, DunningCaseView
from billing.settings import api_settings
from cognitionos.aws import dynamodb_table
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


@router.get(
    "/v1/billing/dunning",
    middlewares=[require_scope("billing:read")],
    tags=["billing"],
    summary="List dunning cases",
    description=(
        "Failed invoice payments being recovered, or no longer: newest first within a "
        "status. A tenant-bound key sees its customer's cases. Needs `billing:read`."
    ),
    responses=documented_responses(
        "A page of cases",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            400: "`next_token` is not one this listing issued",
            422: INVALID,
        },
        examples=PAGE_EXAMPLES,
    ),
)
def list_dunning_cases(
    status: Annotated[
        CaseStatus | None,
        Query(
            description="Only cases in this status",
            openapi_examples={"open": {"value": "open"}},
        ),
    ] = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> DunningCasePage:
    page = DunningCases(dynamodb_table(api_settings().billing_table)).list(
        status=status,
        customer_id=current_principal(router).tenant_id,
        limit=limit,
        next_token=next_token,
    )
    return DunningCasePage(
        cases=[DunningCaseView.of(case) for case in page.cases], next_token=page.next_token
    )
