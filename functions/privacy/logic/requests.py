"""Export and erasure requests: who may ask for whom, and what a request item says. Pure."""

from __future__ import annotations

from typing import Any

from cognitionos.auth import Principal
from cognitionos.errors import Forbidden

REQUEST_RETENTION_S = 365 * 24 * 3600  # a request's record, after it ended
DOWNLOAD_URL_TTL_S = 3600  # a presigned export URL, from the read that signed it
NOT_THIS_TENANT = "the subject is not this API key's tenant"


def check_subject_allowed(principal: Principal, customer_id: str | None) -> None:
    """A tenant-bound key may ask only about its own tenant. A subject named by email is
    resolved by the worker, which fails the request if it is another tenant's."""
    if customer_id is not None and not principal.can_see_tenant(customer_id):
        raise Forbidden(NOT_THIS_TENANT)


def new_request_item(
    kind: str,
    principal: Principal,
    customer_id: str | None,
    email_bidx: str | None,
    requested_at: str,
) -> dict[str, Any]:
    """A request as the privacy table holds it: the subject as given (an email only as its
    blind index), the asking key's tenant (empty for an operator key), ``pending``."""
    if (customer_id is None) == (email_bidx is None):
        raise ValueError("a subject is a customer id or an email, exactly one")
    return {
        "kind": kind,
        "status": "pending",
        "phase": "queued",
        "subject_customer_id": customer_id or "",
        "subject_email_bidx": email_bidx or "",
        "tenant_id": principal.tenant_id or "",
        "requested_by": principal.key_id,
        "requested_at": requested_at,
    }


def tenant_mismatch(request: dict[str, Any], customer_id: str) -> bool:
    """Whether a bound key's request resolved to another tenant's customer."""
    tenant = request.get("tenant_id") or None
    return tenant is not None and tenant != customer_id


def visible_to(principal: Principal, request: dict[str, Any] | None, kind: str) -> bool:
    """A request's existence is shown only to the operator keys and the tenant that asked."""
    if request is None or request.get("kind") != kind:
        return False
    return principal.tenant_id is None or principal.tenant_id == (request.get("tenant_id") or None)
