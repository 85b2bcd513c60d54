"""/v1/privacy/consents: record a grant or a withdrawal; read a subject's consents."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from cognitionos.auth import TENANT_PATTERN, Principal
from cognitionos.errors import Forbidden, Unprocessable
from cognitionos.http import (
    FORBIDDEN,
    INVALID,
    UNAUTHORIZED,
    current_principal,
    documented_responses,
    require_scope,
)
from cognitionos.timeutil import now
from privacy.dal.consents import Idempotency
from privacy.handlers.consents_wiring import consent_store, idempotency_secret
from privacy.logic.consents import (
    IDEMPOTENCY_KEY_PATTERN,
    ConsentRecord,
    current_of,
    history_of,
    idempotency_digest,
    new_consent_id,
    record_time,
    request_fingerprint,
)
from privacy.models.consents import (
    ConsentHistoryEntry,
    ConsentRecordView,
    ConsentSubject,
    ConsentsView,
    CurrentConsentView,
    RecordConsentBody,
)

router = APIGatewayHttpRouter()
privacy_manage = require_scope("privacy:manage")
FORBIDDEN_HERE = FORBIDDEN + " (`privacy:manage`), or is bound to another customer"
OTHER_CUSTOMER = "this API key is bound to another customer"


def subject_for(principal: Principal, customer_id: str) -> str:
    if not principal.can_see_tenant(customer_id):
        raise Forbidden(OTHER_CUSTOMER)
    return customer_id


@router.post(
    "/v1/privacy/consents",
    middlewares=[privacy_manage],
    tags=["privacy"],
    summary="Record a consent or its withdrawal",
    description=(
        "Appends one record to the subject's consents (GDPR Article 7): `granted: true` "
        "gives consent to the purpose, `granted: false` withdraws it, the same call either "
        "way. Records are never changed or deleted; the latest per purpose is what holds. "
        "Send an `Idempotency-Key` header to make a retry safe: the same key with the same "
        "body within 24 hours answers the first record again (201) and records nothing; "
        "without it each call is a new record. A tenant-bound key records only its own "
        "customer's consents. Needs `privacy:manage`."
    ),
    status_code=201,
    responses=documented_responses(
        "The record as stored",
        {
            400: "The body is not JSON, or not UTF-8",
            401: UNAUTHORIZED,
            403: FORBIDDEN_HERE,
            409: "A request with the same Idempotency-Key is being recorded at this moment",
            415: "The body was not sent as `Content-Type: application/json`",
            422: INVALID + " (an unknown method, an extra field, ...), or the Idempotency-Key "
            "was used for a different request",
        },
        status=201,
        examples={
            403: OTHER_CUSTOMER,
            409: "a request with this Idempotency-Key is being recorded right now; send it "
            "again in a moment",
            422: "method: Input should be 'web_form', 'in_app', 'api', 'email', 'verbal' or "
            "'paper'",
        },
    ),
)
def record_consent(
    body: RecordConsentBody,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description=(
                "Optional, up to 255 letters, digits, `_ . : -` (a UUID is ideal): the same "
                "key and body again within 24 hours return the first record"
            ),
            openapi_examples={"a UUID": {"value": "5f0c6a34-3b4e-4d2e-9a1c-0d5e8f7b2a61"}},
        ),
    ] = None,
) -> ConsentRecordView:
    principal = current_principal(router)
    customer_id = subject_for(principal, body.subject.customer_id)
    moment = now()
    record = ConsentRecord(
        consent_id=new_consent_id(),
        customer_id=customer_id,
        purpose=body.purpose,
        granted=body.granted,
        notice_version=body.notice_version,
        method=body.method,
        time=record_time(moment),
        proof=body.proof,
    )
    idempotency = None
    if idempotency_key is not None:
        secret = idempotency_secret()
        idempotency = Idempotency(
            idempotency_digest(secret, customer_id, idempotency_key),
            request_fingerprint(secret, body.fingerprinted()),
            int(moment.timestamp()),
        )
    stored = consent_store().record(record, actor=principal.key_id, idempotency=idempotency)
    return ConsentRecordView.of(stored)


@router.get(
    "/v1/privacy/consents",
    middlewares=[privacy_manage],
    tags=["privacy"],
    summary="Read a subject's consents",
    description=(
        "What the subject consents to now (per purpose, its latest record) and the whole "
        "history, oldest first, on one page. A subject with no record has an empty "
        "`current` and `history` (200). After an erasure the records stay, as the proof of "
        "consent, with their `proof` null. A tenant-bound key reads only its own customer "
        "(and may leave `customer_id` out); an operator key names the customer. Needs "
        "`privacy:manage`."
    ),
    responses=documented_responses(
        "The subject's consents",
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN_HERE,
            422: INVALID + " (a malformed customer_id, or none with an operator key)",
        },
        examples={
            403: OTHER_CUSTOMER,
            422: "query.customer_id: an operator key must name the customer",
        },
    ),
)
def read_consents(
    customer_id: Annotated[
        str | None,
        Query(
            pattern=TENANT_PATTERN,
            description=(
                "The Stripe customer whose consents to read; a tenant-bound key's own by default"
            ),
            openapi_examples={"a customer": {"value": "cus_NffrFeUfNV2Hib"}},
        ),
    ] = None,
) -> ConsentsView:
    principal = current_principal(router)
    wanted = customer_id or principal.tenant_id
    if wanted is None:
        raise Unprocessable("query.customer_id: an operator key must name the customer")
    records = history_of(consent_store().history(subject_for(principal, wanted)))
    return ConsentsView(
        subject=ConsentSubject(customer_id=wanted),
        current={p: CurrentConsentView.of(c) for p, c in current_of(records).items()},
        history=[ConsentHistoryEntry.of(r) for r in records],
    )
