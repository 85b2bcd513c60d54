"""GET /v1/billing/dunning: dunning cases, filtered by status."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from billing.dal.dunning_cases import DunningCases
from billing.logic.dunning import CaseStatus
from billing.models.dunning import DunningCaseView
from billing.settings import api_settings
from cognitionos.aws import dynamodb_table
from cognitionos.http import current_principal, require_scope

router = APIGatewayHttpRouter()


@router.get("/v1/billing/dunning", middlewares=[require_scope("billing:read")], tags=["billing"])
def list_dunning_cases(
    status: Annotated[CaseStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """Dunning cases, newest first within a status; a tenant-bound key sees its customer's."""
    page = DunningCases(dynamodb_table(api_settings().billing_table)).list(
        status=status,
        customer_id=current_principal(router).tenant_id,
        limit=limit,
        next_token=next_token,
    )
    return {
        "cases": [DunningCaseView.of(case).model_dump() for case in page.cases],
        "next_token": page.next_token,
    }
