"""GET /dashboard: the revenue dashboard page, public (the page asks for an API key and sends
it with each API call)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from revenue.dashboard.loader import dashboard_page

router = APIGatewayHttpRouter()


@router.get("/dashboard", include_in_schema=False)  # an HTML page, not part of the API
def revenue_dashboard() -> Response[str]:
    page = dashboard_page()
    return Response(200, "text/html; charset=utf-8", page.html, headers=page.headers)
