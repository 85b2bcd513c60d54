"""/v1/privacy/exports and /v1/privacy/erasures: ask for a subject's export or erasure, and
follow it. The privacy-worker carries both out from the privacy-requests queue."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.audit.store import audit_log
from cognitionos.crypto import blind_index, blind_index_key
from cognitionos.errors import NotFound
from cognitionos.http import (
    FORBIDDEN,
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)
from cognitionos.queues import send_message
from cognitionos.timeutil import iso, now
from privacy.handlers.requests_wiring import export_files, privacy_requests
from privacy.logic.requests import (
    DOWNLOAD_URL_TTL_S,
    NOT_THIS_TENANT,
    check_subject_allowed,
    new_request_item,
    visible_to,
)
from privacy.models.requests import (
    ERASURE_ID_PATTERN,
    EXPORT_ID_PATTERN,
    CustomerSubject,
    ErasureAccepted,
    ErasureView,
    ExportAccepted,
    ExportView,
    SubjectRequestBody,
)
from privacy.settings import api_settings

router = APIGatewayHttpRouter()
SCOPE = "privacy:manage"
ExportId = Annotated[
    str,
    Path(
        pattern=EXPORT_ID_PATTERN,
        description="The export's id, as `POST /v1/privacy/exports` returned it",
        openapi_examples={"an export": {"value": "exp_0f8fad5bd9cb469fa16570867728950e"}},
    ),
]
ErasureId = Annotated[
    str,
    Path(
        pattern=ERASURE_ID_PATTERN,
        description="The erasure's id, as `POST /v1/privacy/erasures` returned it",
        openapi_examples={"an erasure": {"value": "era_0f8fad5bd9cb469fa16570867728950e"}},
    ),
]
ACCEPT_ERRORS = {
    400: "The body is not JSON, or not UTF-8",
    401: UNAUTHORIZED,
    403: FORBIDDEN + "; or a tenant-bound key named another customer id",
    415: "The body was not sent as `Content-Type: application/json`",
    422: INVALID + " (a subject with both or neither of customer_id and email, ...)",
}
FORBIDDEN_EXAMPLE = {403: NOT_THIS_TENANT}
READ_ERRORS = {
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: "No request has this id, or it is another tenant's",
    422: INVALID,
}


def _accept(kind: str, prefix: str, body: SubjectRequestBody) -> str:
    principal = current_principal(router)
    subject = body.subject
    customer_id = subject.customer_id if isinstance(subject, CustomerSubject) else None
    check_subject_allowed(principal, customer_id)
    email_bidx = None if customer_id else blind_index(subject.email, blind_index_key())  # type: ignore[union-attr]
    request_id = f"{prefix}_{uuid.uuid4().hex}"
    item = new_request_item(kind, principal, customer_id, email_bidx, iso(now()))
    audit = audit_log()
    draft = audit.draft(
        f"privacy.{kind}.requested",
        actor=principal.key_id,
        resource=f"privacy_request:{request_id}",
        tenant_id=customer_id or principal.tenant_id,
        details={"by": "customer_id" if customer_id else "email"},
    )
    privacy_requests().create(request_id, item, audit, draft)
    try:
        send_message(
            api_settings().privacy_requests_queue_url, json.dumps({"request_id": request_id})
        )
    except Exception:
        # Nothing left half-made: the request ends failed rather than stay pending forever.
        privacy_requests().update(
            request_id, {"status": "failed", "phase": None, "reason": "it could not be queued"}
        )
        raise
    return request_id


def _visible(request_id: str, kind: str) -> dict[str, Any]:
    request = privacy_requests().get(request_id)
    if not visible_to(current_principal(router), request, kind):
        raise NotFound(f"no {kind} {request_id}")  # another tenant's: existence would leak
    return request  # type: ignore[return-value]


@router.post(
    "/v1/privacy/exports",
    middlewares=[require_scope(SCOPE)],
    tags=["privacy"],
    summary="Export a subject's data (GDPR Art. 15)",
    description=(
        "Queues an export of everything stored about the subject, by customer id or by "
        "email (found through its blind index; the email is not stored). Follow it with "
        "`GET /v1/privacy/exports/{request_id}`. A tenant-bound key may export only its own "
        "tenant: another customer id is a 403; an email of another tenant's customer makes "
        "the export `failed`. Needs `privacy:manage`."
    ),
    status_code=202,
    responses=documented_responses(
        "The export is queued", ACCEPT_ERRORS, status=202, examples=FORBIDDEN_EXAMPLE
    ),
)
def request_export(body: SubjectRequestBody) -> ExportAccepted:
    return ExportAccepted(request_id=_accept("export", "exp", body), status="pending")


@router.get(
    "/v1/privacy/exports/<request_id>",
    middlewares=[require_scope(SCOPE)],
    tags=["privacy"],
    summary="Read an export",
    description=(
        "The export's status; once `completed`, a presigned URL of the JSON file (encrypted "
        "at rest, deleted 7 days after it was written) valid for an hour. Needs "
        "`privacy:manage`; a tenant-bound key sees only its own requests."
    ),
    responses=documented_responses("The export", READ_ERRORS),
)
def read_export(request_id: ExportId) -> ExportView:
    request = _visible(request_id, "export")
    url = expires = None
    if request["status"] == "completed" and request.get("object_key"):
        url = export_files().download_url(request["object_key"], DOWNLOAD_URL_TTL_S)
        expires = iso(time.time() + DOWNLOAD_URL_TTL_S)
    return ExportView(
        status=request["status"],
        download_url=url,
        expires_at=expires,
        phase=request.get("phase") if request["status"] == "pending" else None,
        reason=request.get("reason"),
        records=request.get("records"),
    )


@router.post(
    "/v1/privacy/erasures",
    middlewares=[require_scope(SCOPE)],
    tags=["privacy"],
    summary="Erase a subject's data (GDPR Art. 17)",
    description=(
        "Queues the erasure of everything stored about the subject: personal data deleted "
        "or crypto-shredded (its data key destroyed, a tombstone kept so it is never "
        "re-created), invoices and payments kept pseudonymised until their retention date, "
        "then every table and bucket scanned for what is left. Follow it with "
        "`GET /v1/privacy/erasures/{request_id}`. Tenant rules as for exports. Needs "
        "`privacy:manage`."
    ),
    status_code=202,
    responses=documented_responses(
        "The erasure is queued", ACCEPT_ERRORS, status=202, examples=FORBIDDEN_EXAMPLE
    ),
)
def request_erasure(body: SubjectRequestBody) -> ErasureAccepted:
    return ErasureAccepted(request_id=_accept("erasure", "era", body))


@router.get(
    "/v1/privacy/erasures/<request_id>",
    middlewares=[require_scope(SCOPE)],
    tags=["privacy"],
    summary="Read an erasure",
    description=(
        "The erasure's status and result: what was erased (by category), what is retained, "
        "why and until when, what expires later (queues, backups), and the verification "
        "scan. `completed` only once the scan found nothing it should not and the key-cache "
        "bound has passed since the data key was destroyed. Needs `privacy:manage`; a "
        "tenant-bound key sees only its own requests."
    ),
    responses=documented_responses("The erasure", READ_ERRORS),
)
def read_erasure(request_id: ErasureId) -> ErasureView:
    request = _visible(request_id, "erasure")
    return ErasureView(
        status=request["status"],
        erased=request.get("erased") or {},
        retained=request.get("retained") or [],
        pending_expiry=request.get("pending_expiry") or [],
        phase=request.get("phase") if request["status"] == "pending" else None,
        reason=request.get("reason"),
        verification=request.get("verification"),
        key_destroyed_at=request.get("key_destroyed_at"),
    )
