"""GET /v1/audit/events, /v1/audit/verify, /v1/audit/export: one chain at a time."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos import metrics_store
from cognitionos.audit.chain import GENESIS, Head, verify
from cognitionos.audit.store import seq_key
from cognitionos.auth import TENANT_PATTERN
from cognitionos.dynamodb import decode_page_token, encode_page_token
from cognitionos.http import (
    INVALID,
    PAGE_EXAMPLES,
    UNAUTHORIZED,
    Limit,
    NextToken,
    current_principal,
    documented_responses,
    require_scope,
)
from platform_api.dal.audit import audit_anchors, audit_reader
from platform_api.logic.audit_access import readable_chain
from platform_api.models.audit import AuditEvent, AuditEventPage, AuditExport, AuditVerification

router = APIGatewayHttpRouter()
audit_read = require_scope("audit:read")
VERIFICATION_FAILURES = "audit.verification_failures"
MAX_EXPORT_ENTRIES = 5000
ERRORS = {
    401: UNAUTHORIZED,
    403: "The key lacks `audit:read`, or is bound to another tenant than `tenant_id`",
    422: INVALID,
}
EXAMPLES = {403: "this API key lacks the 'audit:read' scope"}
ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

TenantId = Annotated[
    str | None,
    Query(
        pattern=TENANT_PATTERN,
        description=(
            "The tenant whose chain to read (operator keys); absent: the operators' chain, "
            "or, for a tenant-bound key, its own"
        ),
    ),
]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Time = Annotated[str | None, Query(pattern=ISO_TIME, description="ISO-8601 UTC, to the second")]


@router.get(
    "/v1/audit/events",
    middlewares=[audit_read],
    tags=["audit"],
    summary="List audit events",
    description=(
        "One chain's events, newest first, filtered by `actor`, `action`, `resource` and a "
        "time range (`since` inclusive, `until` exclusive). A tenant-bound key sees only "
        "its tenant's events. Needs `audit:read`."
    ),
    responses=documented_responses(
        "A page of events",
        {**ERRORS, 400: "`next_token` is not one this listing issued"},
        examples={**EXAMPLES, **PAGE_EXAMPLES},
    ),
)
def list_audit_events(  # noqa: PLR0917 (the query parameters, as Powertools binds them)
    actor: Text = None,
    action: Text = None,
    resource: Text = None,
    since: Time = None,
    until: Time = None,
    tenant_id: TenantId = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> AuditEventPage:
    chain = readable_chain(current_principal(router), tenant_id)
    start = decode_page_token(next_token, {"pk": chain}, frozenset({"pk", "sk"}))
    entries, last = audit_reader().page(
        chain,
        limit=limit,
        start=start,
        actor=actor,
        action=action,
        resource=resource,
        since=since,
        until=until,
    )
    events = [
        AuditEvent.model_validate({k: e.get(k) for k in AuditEvent.model_fields}) for e in entries
    ]
    return AuditEventPage(events=events, next_token=encode_page_token(last))


@router.get(
    "/v1/audit/verify",
    middlewares=[audit_read],
    tags=["audit"],
    summary="Verify an audit chain",
    description=(
        "Reads the whole chain and checks every entry's hash and link, its head, and its "
        "anchors; reports the first seq that is missing, altered or out of place. A failure "
        "counts in the `audit.verification_failures` metric. Needs `audit:read`."
    ),
    responses=documented_responses("The verification", ERRORS, examples=EXAMPLES),
)
def verify_audit_chain(tenant_id: TenantId = None) -> AuditVerification:
    chain = readable_chain(current_principal(router), tenant_id)
    reader = audit_reader()
    anchors = [Head(int(a["seq"]), str(a["hash"])) for a in reader.anchors(chain)]
    result = verify(reader.entries(chain), chain, head=reader.head(chain), anchors=anchors)
    if not result.valid:
        metrics_store.increment(VERIFICATION_FAILURES)
    return AuditVerification(**result.as_dict())


@router.get(
    "/v1/audit/export",
    middlewares=[audit_read],
    tags=["audit"],
    summary="Export an audit chain with its anchors",
    description=(
        "The chain's entries from `from_seq` (every field, as hashed), its head and the "
        "anchors S3 keeps under Object Lock: save it and check it offline with "
        "`python -m cognitionos.audit verify FILE`. A long chain comes in parts of at most "
        f"{MAX_EXPORT_ENTRIES} entries: `next_from_seq` says where the next begins. Needs "
        "`audit:read`."
    ),
    responses=documented_responses("The export", ERRORS, examples=EXAMPLES),
)
def export_audit_chain(
    tenant_id: TenantId = None,
    from_seq: Annotated[int, Query(ge=1, le=10**11, description="The first seq")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_EXPORT_ENTRIES, description="At most this many entries")
    ] = MAX_EXPORT_ENTRIES,
) -> AuditExport:
    chain = readable_chain(current_principal(router), tenant_id)
    reader = audit_reader()
    head = reader.head(chain)
    entries = list(reader.entries(chain, from_seq, limit + 1))
    more = len(entries) > limit
    entries = entries[:limit]
    prev = GENESIS
    if from_seq > 1:
        before = list(reader.entries(chain, from_seq - 1, 1))
        prev = str(before[0]["hash"]) if before else GENESIS
    last = entries[-1]["seq"] if entries else from_seq - 1
    store = audit_anchors()
    anchors: list[dict[str, Any]] = [
        store.stored(record)
        for record in reader.anchors(chain)
        if from_seq <= int(record["seq"]) <= last
    ]
    return AuditExport(
        format="cognitionos-audit-export/1",
        chain=chain,
        from_seq=from_seq,
        prev_hash=prev,
        complete=not more,
        head={"seq": head.seq, "hash": head.hash} if head else None,  # type: ignore[arg-type]
        anchors=anchors,  # type: ignore[arg-type]
        entries=entries,
        next_from_seq=last + 1 if more else None,
    )


__all__ = ["router", "seq_key"]
