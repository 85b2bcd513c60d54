"""Consumer of ``alert-notifications``: each message is one notification to one channel, or
one channel's digest (``logic/dispatcher.py`` says in which order, and why)."""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from alerts.dal.deliveries import NotificationLog, delivery_key, digest_key
from alerts.dal.digests import PendingDigests
from alerts.dal.notifications import NotificationQueue
from alerts.dal.rate_limits import DynamoDbRateLimiter, RateLimiter, RedisRateLimiter, redis_client
from alerts.dal.senders import Channel, Email, Senders
from alerts.dal.store import AlertStore, alert_view
from alerts.logic.dispatcher import Dispatcher, Exhausted, Result, RetryLater, RetryPolicy
from alerts.models.messages import NotifyMessage, QueuedMessage
from alerts.settings import MAX_ATTEMPTS, dispatch_settings
from cognitionos import deadline
from cognitionos.aws import dynamodb_table
from cognitionos.crypto import subject_keyring
from cognitionos.observability import MetricUnit, logger, metrics, traced

WORST_SEND_S = 9.0  # connect and read timeouts (dal/outbound.py), and a little more
# Every failed record is reported (a batch of retries alone included): each already set its
# own visibility, and a raised batch would make Lambda treat every record alike.
processor = BatchProcessor(
    event_type=EventType.SQS,
    raise_on_entire_batch_failure=False,
    logger=logger,  # type: ignore[arg-type]
)


@functools.cache
def limiter() -> RateLimiter:
    settings = dispatch_settings()
    if settings.redis_url:
        return RedisRateLimiter(redis_client(settings.redis_url))
    return DynamoDbRateLimiter(dynamodb_table(settings.alerts_table))


@functools.cache
def queue() -> NotificationQueue:
    return NotificationQueue(dispatch_settings().alert_notifications_queue_url)


@functools.cache
def dispatcher() -> Dispatcher:
    settings = dispatch_settings()
    table = dynamodb_table(settings.alerts_table)
    return Dispatcher(
        log=NotificationLog(table),
        limiter=limiter(),
        digests=PendingDigests(table),
        senders=Senders(
            Email(settings.email_sender, settings.alert_notification_email_template),
            allow_loopback=settings.cognition_allow_loopback_targets,
        ),
        schedule_digest=queue().send_digest,
        policy=RetryPolicy(MAX_ATTEMPTS, settings.alerts_retry_base_s, settings.alerts_retry_cap_s),
        digest_delay_s=settings.alerts_digest_delay_s,
        clock=time.time,
    )


def deliver(message: Any) -> Result:
    store = AlertStore(dynamodb_table(dispatch_settings().alerts_table))
    if isinstance(message, NotifyMessage):
        alert, channel = store.alert_and_channel(message.alert_id, message.channel_id)
        if alert is None or channel is None:
            return "dropped"  # deleted since: nobody to tell, or nothing to tell about
        view = {**alert_view(alert), "status": message.event}  # the event it is about
        key = delivery_key(message.alert_id, message.channel_id, message.event)
        return dispatcher().deliver(view, unsealed(channel), message.event, key)
    channel = store.get_channel(message.channel_id)
    if channel is None:
        return "dropped"
    return dispatcher().deliver_digest(
        unsealed(channel), functools.partial(digest_key, message.channel_id)
    )


def unsealed(item: dict[str, Any]) -> Channel:
    return Channel.unsealed(item, subject_keyring())


def handle_record(record: SQSRecord) -> None:
    deadline.require(WORST_SEND_S, "a channel send")
    message = QueuedMessage.model_validate({"message": record.json_body}).message
    try:
        result = deliver(message)
    except RetryLater as retry:
        queue().delay(record.receipt_handle, retry.delay_s)
        metrics.add_metric("AlertDeliveryRetries", MetricUnit.Count, 1)
        raise
    except Exhausted:
        queue().delay(record.receipt_handle, 0)  # to the dead-letter queue at its next receive
        metrics.add_metric("AlertDeliveriesExhausted", MetricUnit.Count, 1)
        raise
    logger.info(
        "alert notification", extra={"notification": message.model_dump(), "result": result}
    )
    metrics.add_metric(f"AlertDeliveries{result.capitalize()}", MetricUnit.Count, 1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    dispatch_settings()
    with deadline.of_invocation(context):
        response = process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )
    return dict(response)
