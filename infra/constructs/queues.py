"""SQS queues from the topology, each with its dead-letter queue and a DLQ-depth alarm."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import topology
from infra.constructs.alarms import Alarms
from infra.constructs.naming import pascal

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time for an operator to redrive


class Queues(Construct):
    """``queues`` / ``dead_letter_queues`` map topology queue name -> Queue.

    Names are left to CloudFormation (``fifo=True`` adds the ``.fifo`` suffix), so a stack
    can be deployed twice in one account. Content-based deduplication stays off: producers
    set ``MessageDeduplicationId`` from a business key.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, alarms: Alarms
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for queue in topology.QUEUES:
            # Standard queues leave both properties unset; FIFO ones say so explicitly.
            fifo = True if queue.fifo else None
            dedup = False if queue.fifo else None
            dlq = sqs.Queue(
                self,
                pascal(queue.dlq_name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                retention_period=DLQ_RETENTION,
                fifo=fifo,
                content_based_deduplication=dedup,
            )
            self.dead_letter_queues[queue.name] = dlq
            self.queues[queue.name] = sqs.Queue(
                self,
                pascal(queue.name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(queue.visibility_timeout_s),
                dead_letter_queue=sqs.DeadLetterQueue(
                    max_receive_count=queue.max_receives, queue=dlq
                ),
                fifo=fifo,
                content_based_deduplication=dedup,
            )
            alarms.on_dead_letters(dlq, pascal(queue.dlq_name))
