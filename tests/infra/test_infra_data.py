"""Key, tables, queues, dead-letter alarms and secrets follow the topology."""

from __future__ import annotations

from typing import Any

import pytest
from infra_synth import Synth, refs, render

from infra import topology

pytestmark = pytest.mark.xdist_group("infra")

FOURTEEN_DAYS = 14 * 24 * 3600


def key_id(synth: Synth) -> str:
    return synth.id(synth.stack.data.key)


def test_the_stack_key_and_each_declared_key_rotate_and_are_retained(synth: Synth) -> None:
    keys = synth.of_type("AWS::KMS::Key")
    declared = {synth.id(synth.stack.data.keys[k.name]) for k in topology.KEYS}
    assert set(keys) == {key_id(synth)} | declared
    assert synth.id(synth.stack.data.keys[topology.PII_KEY.name]) != key_id(synth)
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"
        assert key["UpdateReplacePolicy"] == "Retain"


def test_the_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups(
    synth: Synth,
) -> None:
    policy = synth.props(synth.stack.data.key)["KeyPolicy"]["Statement"]
    logs = {s.get("Sid"): s for s in policy}["AllowCloudWatchLogs"]
    assert render(logs["Principal"]["Service"]) == "logs.<AWS::Region>.amazonaws.com"
    condition = logs["Condition"]
    assert set(condition) == {"ArnLike", "StringEqualsIfExists"}
    assert {k: render(v) for k, v in condition["ArnLike"].items()} == {
        "kms:EncryptionContext:aws:logs:arn": (
            "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*"
        )
    }
    assert condition["StringEqualsIfExists"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_the_key_lets_cloudwatch_publish_only_this_stacks_alarms(synth: Synth) -> None:
    policy = synth.props(synth.stack.data.key)["KeyPolicy"]["Statement"]
    alarms = {s.get("Sid"): s for s in policy}["AllowCloudWatchAlarmsToEncryptedTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    stack = synth.stack.stack_name
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":cloudwatch:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        f":alarm:{stack}-*",
                    ],
                ]
            }
        },
    }
    # ... and every alarm of the stack is named under that prefix.
    names = [a["Properties"]["AlarmName"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    assert names and all(name.startswith(f"{stack}-") for name in names)
    assert len(set(names)) == len(names)


def test_no_service_principal_may_use_the_key_without_a_condition(synth: Synth) -> None:
    for statement in synth.props(synth.stack.data.key)["KeyPolicy"]["Statement"]:
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), statement.get("Sid")


def test_every_log_group_and_topic_is_encrypted_with_the_key(synth: Synth) -> None:
    for group in synth.of_type("AWS::Logs::LogGroup").values():
        assert refs(group["Properties"]["KmsKeyId"]) == {key_id(synth)}
    for topic in synth.of_type("AWS::SNS::Topic").values():
        assert refs(topic["Properties"]["KmsMasterKeyId"]) == {key_id(synth)}


@pytest.mark.parametrize("table", topology.TABLES, ids=lambda t: t.name)
def test_a_table_is_on_demand_recoverable_and_encrypted(
    synth: Synth, table: topology.Table
) -> None:
    resource = synth.resources[synth.id(synth.stack.data.tables[table.name])]
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert refs(props["SSESpecification"]["KMSMasterKeyId"]) == {key_id(synth)}
    keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == keys
    if table.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": table.ttl_attribute,
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("table", topology.TABLES, ids=lambda t: t.name)
def test_a_table_has_exactly_the_declared_indexes(synth: Synth, table: topology.Table) -> None:
    props = synth.props(synth.stack.data.tables[table.name])
    indexes = {
        gsi["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]],
            gsi["Projection"],
        )
        for gsi in props.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        i.name: ([(i.partition_key, "HASH"), (i.sort_key, "RANGE")], {"ProjectionType": "ALL"})
        for i in table.indexes
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert set(types.values()) == {"S"}


@pytest.mark.parametrize("queue", topology.QUEUES, ids=lambda q: q.name)
def test_a_queue_redrives_to_its_dead_letter_queue(synth: Synth, queue: topology.Queue) -> None:
    main = synth.props(synth.stack.queues.queues[queue.name])
    dlq_construct = synth.stack.queues.dead_letter_queues[queue.name]
    dlq = synth.props(dlq_construct)
    assert main["RedrivePolicy"]["maxReceiveCount"] == queue.max_receives
    assert refs(main["RedrivePolicy"]["deadLetterTargetArn"]) == {synth.id(dlq_construct)}
    assert main["VisibilityTimeout"] == queue.visibility_timeout_s
    assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS
    for props in (main, dlq):
        assert props.get("FifoQueue", False) is queue.fifo
        assert props.get("ContentBasedDeduplication", False) is False
        assert refs(props["KmsMasterKeyId"]) == {key_id(synth)}


def test_every_queue_refuses_plain_http(synth: Synth) -> None:
    protected = set()
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                protected |= refs(policy["Properties"]["Queues"])
    assert protected == set(synth.of_type("AWS::SQS::Queue"))


@pytest.mark.parametrize("fn", [f for f in topology.FUNCTIONS if f.consumes], ids=lambda f: f.name)
def test_a_message_stays_invisible_for_six_consumer_timeouts(fn: topology.Function) -> None:
    assert fn.consumes is not None
    assert fn.consumes.visibility_timeout_s >= 6 * fn.timeout_s


def _alarms(synth: Synth, metric: str) -> list[dict[str, Any]]:
    topic = synth.id(synth.stack.alarms.topic)
    found = []
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props["MetricName"] != metric:
            continue
        assert (props["Threshold"], props["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )
        assert refs(props["AlarmActions"]) == {topic}
        assert refs(props["OKActions"]) == {topic}
        found.append(props)
    return found


def test_every_dead_letter_queue_pages_an_operator(synth: Synth) -> None:
    watched = set()
    for props in _alarms(synth, "ApproximateNumberOfMessagesVisible"):
        watched |= refs(props["Dimensions"])
    dead_letter_queues = {synth.id(q) for q in synth.stack.queues.dead_letter_queues.values()}
    dead_letter_queues.add(synth.id(synth.stack.schedules.dead_letters))
    assert watched == dead_letter_queues


def test_every_scheduled_job_that_fails_pages_an_operator(synth: Synth) -> None:
    watched = set()
    for props in _alarms(synth, "Errors"):
        assert props["Namespace"] == "AWS/Lambda"
        watched |= refs(props["Dimensions"])
    jobs = {f.name for f in topology.FUNCTIONS if f.schedule}
    assert watched == {synth.id(synth.stack.functions.functions[name]) for name in jobs}
    all_alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    assert {a["Properties"]["MetricName"] for a in all_alarms} == {
        "ApproximateNumberOfMessagesVisible",
        "Errors",
    }


def test_the_alarm_topic_is_encrypted_and_refuses_plain_http(synth: Synth) -> None:
    topic = synth.id(synth.stack.alarms.topic)
    (policy,) = synth.of_type("AWS::SNS::TopicPolicy").values()
    assert refs(policy["Properties"]["Topics"]) == {topic}
    (deny,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_alarm_publishes_alarm_and_ok_to_the_topic(synth: Synth) -> None:
    topic = synth.id(synth.stack.alarms.topic)
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    assert alarms
    for alarm in alarms:
        props = alarm["Properties"]
        assert (refs(props["AlarmActions"]), refs(props["OKActions"])) == ({topic}, {topic})


def test_the_alarm_topic_delivers_raw_to_the_alarm_queue_and_only_it_may_send_there(
    synth: Synth,
) -> None:
    topic = synth.id(synth.stack.alarms.topic)
    subscribers = {
        synth.id(synth.stack.queues.queues[q.name]) for q in topology.ALARM_TOPIC_SUBSCRIBERS
    }
    assert subscribers
    delivered = set()
    for subscription in synth.of_type("AWS::SNS::Subscription").values():
        props = subscription["Properties"]
        if props["Protocol"] == "email":  # -c alarmEmail=...
            continue
        assert refs(props["TopicArn"]) == {topic}
        assert (props["Protocol"], props["RawMessageDelivery"]) == ("sqs", True)
        delivered |= refs(props["Endpoint"])
    assert delivered == subscribers
    policies = [
        p["Properties"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if refs(p["Properties"]["Queues"]) & subscribers
    ]
    assert {q for p in policies for q in refs(p["Queues"])} == subscribers
    for policy in policies:
        [allow] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
        assert allow["Action"] == "sqs:SendMessage"
        assert refs(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == {topic}


def test_the_key_lets_sns_encrypt_only_for_this_stacks_topics(synth: Synth) -> None:
    policy = synth.props(synth.stack.data.key)["KeyPolicy"]["Statement"]
    sns = {s.get("Sid"): s for s in policy}["AllowStackTopicsToEncryptedQueues"]
    assert sns["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sns["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert sns["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = render(sns["Condition"]["ArnLike"]["aws:SourceArn"])
    stack = synth.stack.stack_name
    assert source == f"arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:{stack}-*"


@pytest.mark.parametrize("secret", topology.SECRETS, ids=lambda s: s.name)
def test_a_secret_is_random_until_set_and_encrypted(synth: Synth, secret: topology.Secret) -> None:
    props = synth.props(synth.stack.secrets.secrets[secret.name])
    assert props["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 48}
    assert refs(props["KmsKeyId"]) == {key_id(synth)}
    assert props["Description"].startswith(secret.description)
