"""Which chain a caller may read: a tenant-bound key only its own tenant's."""

from __future__ import annotations

from cognitionos.audit.chain import chain_of
from cognitionos.auth import Principal
from cognitionos.errors import Forbidden


def readable_chain(principal: Principal, tenant_id: str | None) -> str:
    """The chain asked for: ``tenant_id``'s, or the caller's own (operators' for an
    operator key). A bound key asking for another tenant is refused (403)."""
    if principal.tenant_id is not None:
        if tenant_id is not None and tenant_id != principal.tenant_id:
            raise Forbidden("this API key is bound to another tenant")
        return chain_of(principal.tenant_id)
    return chain_of(tenant_id)
