"""How the privacy worker carries out one request: an export, or an erasure in two passes.

No AWS here: the stores are passed in (``Ports``), so the flow's rules (idempotency, the
tenant check, the key-cache wait) are tested without moto too.

An erasure's first pass reads the subject's email and name (memory only), erases every store,
destroys the data key at T, scans every table and bucket and records the result with the
phase ``awaiting_key_cache_expiry``; it then queues the request again, delayed until
T + the key-cache bound. The pass that runs after that reports ``completed`` (or ``failed``
if the scan found a leak) and audits it. A warm Lambda that cached the subject's data key
before T decrypts with it until T + bound at most: by the time ``completed`` is shown, no
environment can.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from privacy.logic.erasures import Needles, ScanResult, pseudonym
from privacy.logic.exports import export_document, record_count
from privacy.logic.requests import NOT_THIS_TENANT, REQUEST_RETENTION_S, tenant_mismatch
from privacy.logic.retention import EXPORT_OBJECT_DAYS, pending_expiry

AWAITING = "awaiting_key_cache_expiry"
MAX_DELAY_S = 900  # SQS's longest message delay


class PermanentFailure(Exception):
    """The request cannot succeed however often it is retried; the message says why (no
    personal data)."""


class Requests(Protocol):
    def get(self, request_id: str) -> dict[str, Any] | None: ...
    def update(
        self, request_id: str, fields: dict[str, Any], *, unless_ended: bool = True
    ) -> bool: ...


@dataclass
class Ports:
    requests: Requests
    records: Any  # privacy.dal.exports.SubjectRecords
    eraser: Any  # privacy.dal.erasures.Eraser
    files: Any  # privacy.dal.exports.ExportFiles
    scan: Callable[[Needles, bool], ScanResult]
    audit: Callable[[str, str, str, dict[str, Any]], None]  # action, resource, tenant, details
    send_later: Callable[[str, int], None]  # request id, delay seconds
    blind_key: Callable[[], bytes]
    now: Callable[[], datetime]
    cache_bound_s: float


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def handle(request_id: str, ports: Ports) -> str:
    """Carry the request one step further; what happened (for the log)."""
    request = ports.requests.get(request_id)
    if request is None:
        raise PermanentFailure(f"no request {request_id}")
    if request["status"] in ("completed", "failed"):
        return "already ended"  # a redelivery: nothing again
    customer_id = resolve(request, ports)
    if request["kind"] == "export":
        return export(request_id, customer_id, ports)
    return erase(request_id, request, customer_id, ports)


def resolve(request: dict[str, Any], ports: Ports) -> str:
    customer_id = request.get("subject_customer_id") or request.get("customer_id")
    if not customer_id and request.get("subject_email_bidx"):
        customer_id = ports.records.customer_by_email(request["subject_email_bidx"])
        if customer_id is None:
            raise PermanentFailure("no customer has this email")
    if not customer_id:
        raise PermanentFailure("the request names no subject")
    if tenant_mismatch(request, customer_id):
        raise PermanentFailure(NOT_THIS_TENANT)
    return str(customer_id)


def export(request_id: str, customer_id: str, ports: Ports) -> str:
    ports.requests.update(request_id, {"phase": "collecting"})
    generated = ports.now()
    document = export_document(
        {"customer_id": customer_id}, iso(generated), ports.records.collect(customer_id)
    )
    key = ports.files.put(request_id, document)  # the same key again on a redelivery
    count = record_count(document)
    ended = ports.requests.update(
        request_id,
        {
            "status": "completed",
            "phase": None,
            "object_key": key,
            "records": count,
            "completed_at": iso(generated),
            "object_expires_at": iso(generated + timedelta(days=EXPORT_OBJECT_DAYS)),
            "expires_at": int(generated.timestamp()) + REQUEST_RETENTION_S,
        },
    )
    if ended:
        ports.audit(
            "privacy.export.completed",
            f"privacy_request:{request_id}",
            customer_id,
            {"records": count, "categories": sorted(k for k, v in document["data"].items() if v)},
        )
    return "exported"


def erase(request_id: str, request: dict[str, Any], customer_id: str, ports: Ports) -> str:
    if request.get("phase") == AWAITING and request.get("key_destroyed_at"):
        return finish_erasure(request_id, request, customer_id, ports)
    ports.requests.update(request_id, {"phase": "erasing", "customer_id": customer_id})
    # In memory only, for the scan; None when a redelivered pass runs after the key is gone.
    email, name, email_bidx = ports.records.personal_of(customer_id)
    anon = pseudonym(customer_id, ports.blind_key())
    outcome = ports.eraser.erase(customer_id, anon, email)
    ports.eraser.destroy_key(customer_id)
    destroyed_at = ports.now()
    needles = Needles.of(customer_id, [b for b in (email_bidx,) if b], email, name)
    result = ports.scan(needles, email is not None or name is not None)
    ports.requests.update(
        request_id,
        {
            "phase": AWAITING,
            "pseudonym": anon,
            "erased": dict(sorted(outcome.erased.items())),
            "retained": outcome.retained_list(),
            "pending_expiry": pending_expiry(destroyed_at),
            "verification": result.as_dict(),
            "key_destroyed_at": iso(destroyed_at),
        },
    )
    ports.send_later(request_id, delay_for(ports.cache_bound_s))
    return "erased; awaiting the key-cache bound"


def delay_for(remaining_s: float) -> int:
    return max(1, min(MAX_DELAY_S, math.ceil(remaining_s)))


def finish_erasure(request_id: str, request: dict[str, Any], customer_id: str, ports: Ports) -> str:
    destroyed_at = parse_iso(str(request["key_destroyed_at"]))
    remaining = (destroyed_at - ports.now()).total_seconds() + ports.cache_bound_s
    if remaining > 0:
        ports.send_later(request_id, delay_for(remaining))  # delivered early: wait on
        return "still awaiting the key-cache bound"
    verification = request.get("verification") or {}
    leaks: Iterable[str] = verification.get("leaks") or []
    status = "failed" if list(leaks) else "completed"
    fields: dict[str, Any] = {
        "status": status,
        "phase": None,
        "completed_at": iso(ports.now()),
        "expires_at": int(ports.now().timestamp()) + REQUEST_RETENTION_S,
        "subject_customer_id": request.get("pseudonym") or "",  # the id is not kept here
        "customer_id": request.get("pseudonym") or "",
    }
    if status == "failed":
        fields["reason"] = f"the verification scan found {len(list(leaks))} leak(s)"
    if ports.requests.update(request_id, fields):
        erased = request.get("erased") or {}
        ports.audit(
            f"privacy.erasure.{status}",
            f"privacy_request:{request_id}",
            customer_id,
            {
                "erased": sum(int(v) for v in erased.values()),
                "retained": sum(int(r.get("count", 0)) for r in request.get("retained") or []),
                "scanned": int(verification.get("scanned", 0)),
                "leaks": len(list(verification.get("leaks") or [])),
            },
        )
    return status
