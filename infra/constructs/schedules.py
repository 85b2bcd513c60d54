"""EventBridge Scheduler schedules for the topology's scheduled jobs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import topology
from infra.constructs.alarms import Alarms
from infra.constructs.nag import acknowledge
from infra.constructs.naming import pascal

RETRY = scheduler.CfnSchedule.RetryPolicyProperty(
    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
)


def scheduled_event(job: str) -> dict[str, object]:
    """The event a job function receives: EventBridge's scheduled-event shape.

    Scheduler substitutes the ``<aws.scheduler.*>`` context attributes at each run.
    """
    return {
        "version": "0",
        "id": "<aws.scheduler.execution-id>",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": Aws.ACCOUNT_ID,
        "time": "<aws.scheduler.scheduled-time>",
        "region": Aws.REGION,
        "resources": ["<aws.scheduler.schedule-arn>"],
        "detail": {"job": job},
    }


class Schedules(Construct):
    """``schedules`` maps function name -> CfnSchedule; failed deliveries go to ``dead_letters``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        key: kms.IKey,
        alarms: Alarms,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the scheduler's Lambda targets; "
            "an alarm watches its depth.",
        )
        alarms.on_dead_letters(self.dead_letters, "ScheduleDeadLetters")
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        for fn in topology.FUNCTIONS:
            if fn.schedule is None:
                continue
            if fn.job is None:
                raise ValueError(f"{fn.name} has a schedule but no job name to put in its event")
            self.schedules[fn.name] = self._schedule(fn, fn.job, fn.schedule, functions, key)
            alarms.on_job_errors(functions[fn.name], f"{pascal(fn.name)}Job")

    def _schedule(
        self,
        fn: topology.Function,
        job: str,
        schedule: topology.Schedule,
        functions: Mapping[str, lambda_.IFunction],
        key: kms.IKey,
    ) -> scheduler.CfnSchedule:
        name = pascal(fn.name)
        target = functions[fn.name]
        role = iam.Role(
            self,
            f"{name}Role",
            description=f"EventBridge Scheduler: runs the {job} job and nothing else",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            inline_policies={
                "schedule": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="InvokeJob",
                            actions=["lambda:InvokeFunction"],
                            resources=[target.function_arn],
                        ),
                        iam.PolicyStatement(
                            sid="DeadLetter",
                            actions=["sqs:SendMessage"],
                            resources=[self.dead_letters.queue_arn],
                        ),
                        iam.PolicyStatement(
                            sid="EncryptDeadLetter",
                            actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[key.key_arn],
                        ),
                    ]
                )
            },
        )
        return scheduler.CfnSchedule(
            self,
            name,
            description=f"Runs the {job} job ({schedule.expression}, UTC)",
            schedule_expression=schedule.expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target.function_arn,
                role_arn=role.role_arn,
                input=Stack.of(self).to_json_string(scheduled_event(job)),
                retry_policy=RETRY,
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn
                ),
            ),
        )
