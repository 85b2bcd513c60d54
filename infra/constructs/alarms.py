"""The operators' alarm topic, and the alarms that publish to it: dead-letter-queue depth,
and errors of scheduled jobs. Each alarm publishes both ALARM and OK, and the topic delivers
every notification raw to the queues the topology subscribes (``ALARM_TOPIC_SUBSCRIBERS``):
``alerts-alarms`` turns them into alerts, routed to the channels like any other."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct


def alarm_name(scope: IConstruct, alarm_id: str) -> str:
    """``<stack name>-<alarm id>``: every alarm of the stack shares the stack's prefix."""
    return f"{Stack.of(scope).stack_name}-{alarm_id}"


def stack_alarm_arns(scope: IConstruct) -> str:
    """An ARN pattern matching this stack's alarms and no other (the key policy's
    aws:SourceArn for CloudWatch publishing to the encrypted topic)."""
    name = alarm_name(scope, "*")
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{name}"


def stack_topic_arns(scope: IConstruct) -> str:
    """An ARN pattern matching this stack's SNS topics (CloudFormation names a topic
    ``<stack name>-<logical id>-<suffix>``): the key policy's aws:SourceArn for SNS
    delivering to the encrypted queues. A pattern, not the topic's ARN: the topic is
    encrypted with that key, so naming it in the key's policy would be a cycle."""
    name = f"{Stack.of(scope).stack_name}-*"
    return f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{name}"


class Alarms(Construct):
    """``topic`` receives every alarm; ``email`` (CDK context ``alarmEmail``) subscribes to it."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, email: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="CognitionOS operator alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def deliver_to(self, queue: sqs.IQueue, name: str) -> None:
        """Every notification, raw (the body is CloudWatch's JSON), into ``queue``. The queue
        policy admits this topic alone; the key policy lets SNS use the queue's key
        (infra/constructs/data.py)."""
        sns.Subscription(
            self,
            f"{name}Subscription",
            topic=self.topic,
            endpoint=queue.queue_arn,
            protocol=sns.SubscriptionProtocol.SQS,
            raw_message_delivery=True,
        )
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmTopic",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.topic.topic_arn}},
            )
        )

    def on_dead_letters(self, queue: sqs.IQueue, name: str) -> cloudwatch.Alarm:
        """Alarm as soon as one message is waiting in a dead-letter queue: something was lost."""
        return self._page(
            f"{name}Depth",
            f"{name}: messages in a dead-letter queue need an operator",
            queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
        )

    def on_job_errors(self, function: lambda_.IFunction, name: str) -> cloudwatch.Alarm:
        """Alarm when a scheduled job raises: the scheduler's dead-letter queue only sees
        invocations that could not be delivered, not a job that ran and failed."""
        return self._page(
            f"{name}Errors",
            f"{name}: the job failed; its logs name the reason",
            function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
        )

    def _page(
        self, alarm_id: str, description: str, metric: cloudwatch.IMetric
    ) -> cloudwatch.Alarm:
        """Page the operators as soon as ``metric`` is 1 or more in one period."""
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            alarm_name=alarm_name(self, alarm_id),  # the key policy names the stack's alarms
            alarm_description=description,
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)  # resolves its alert (and tells the operators' email)
        return alarm
