"""Consumer of the privacy-requests queue: one export or erasure step per message.

A failure goes back to the queue (partial batch response) and, after the queue's last
receive, to its DLQ; the request says ``failed`` only then, or at once when the failure is
permanent (no customer has the email, another tenant's subject).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognitionos.audit.store import audit_log
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import blind_index_key, key_cache_max_age_s, subject_keyring
from cognitionos.observability import logger, metrics, traced
from cognitionos.queues import send_message
from privacy.dal.erasures import Eraser, verify
from privacy.dal.exports import ExportFiles, Stores, SubjectRecords
from privacy.dal.requests import PrivacyRequests
from privacy.dal.store_scan import StoreScanner, stores_from_environment
from privacy.logic.erasures import Needles, ScanResult
from privacy.logic.request_flow import PermanentFailure, Ports, handle
from privacy.settings import worker_settings

# The privacy-requests queue's max_receives (infra/topology.py): the last attempt.
MAX_RECEIVES = 3
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]


def _now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def ports() -> Ports:
    settings = worker_settings()
    keyring = subject_keyring()
    stores = Stores(
        billing=settings.billing_table,
        agents=settings.agents_table,
        alerts=settings.alerts_table,
        revenue=settings.revenue_table,
        usage=settings.usage_table,
        audit=settings.audit_table,
        privacy=settings.privacy_table,
        metrics=settings.metrics_table,
        exports_bucket=settings.privacy_exports_bucket,
        event_bodies_bucket=settings.event_bodies_bucket,
    )
    records = SubjectRecords(stores, keyring)
    audit = audit_log(keyring)

    def scan(needles: Needles, plaintext_checked: bool) -> ScanResult:
        tables, buckets = stores_from_environment()
        return verify(StoreScanner(tables, buckets).records(), needles, plaintext_checked)

    def record(action: str, resource: str, tenant: str, details: dict[str, Any]) -> None:
        audit.record(
            action, actor="privacy-worker", resource=resource, tenant_id=tenant, details=details
        )

    def send_later(request_id: str, delay_s: int) -> None:
        send_message(
            settings.privacy_requests_queue_url,
            json.dumps({"request_id": request_id}),
            delay_s=delay_s,
        )

    return Ports(
        requests=PrivacyRequests(dynamodb_table(settings.privacy_table)),
        records=records,
        eraser=Eraser(records, keyring, _now),
        files=ExportFiles(settings.privacy_exports_bucket),
        scan=scan,
        audit=record,
        send_later=send_later,
        blind_key=blind_index_key,
        now=_now,
        cache_bound_s=key_cache_max_age_s(),
    )


def handle_record(record: SQSRecord) -> None:
    request_id = str(json.loads(record.body)["request_id"])
    on = ports()
    try:
        outcome = handle(request_id, on)
    except PermanentFailure as failure:
        on.requests.update(request_id, {"status": "failed", "phase": None, "reason": str(failure)})
        logger.warning(
            "privacy request failed", extra={"request_id": request_id, "reason": str(failure)}
        )
        return  # nothing a retry could change: the message is done
    except Exception:
        if int(record.attributes.approximate_receive_count) >= MAX_RECEIVES:
            on.requests.update(
                request_id,
                {"status": "failed", "phase": None, "reason": "it failed on every attempt"},
            )
        raise  # back to the queue, or to the DLQ after the last receive
    logger.info("privacy request", extra={"request_id": request_id, "outcome": outcome})


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    worker_settings()
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)
