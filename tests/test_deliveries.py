"""Service-to-service permissions, read statically: what a real account would refuse.

Each negative case takes the real template, breaks one thing a real deploy depends on, and
checks the walk reports it, so the positive case cannot pass by checking nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from seslake_cli.stack import load_template
from tests.cfn import ALL_ON, translate
from tests.deliveries import problems

SAM = load_template()
DEPLOYED = translate(SAM, ALL_ON)
WITH_BUCKET_KEY = translate(
    SAM, {**ALL_ON, "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/lake-key"}
)


def test_every_delivery_is_admitted_by_its_receiver_and_key() -> None:
    assert problems(DEPLOYED) == []
    assert problems(WITH_BUCKET_KEY) == []


def test_the_walk_finds_every_delivery_path() -> None:
    """The walk reads deliveries from the template: make sure it saw each kind."""
    resources = DEPLOYED["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert {
        "AWS::SES::ConfigurationSetEventDestination",
        "AWS::SNS::Subscription",
        "AWS::Events::Rule",
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::CloudWatch::Alarm",
    } <= kinds
    bucket = resources["LakeBucket"]["Properties"]
    assert len(bucket["NotificationConfiguration"]["LambdaConfigurations"]) == 2


def _topic(sam: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = sam["Resources"][name]["Properties"]
    return props


def _statement(sam: dict[str, Any], resource: str, sid: str) -> dict[str, Any]:
    props = sam["Resources"][resource]["Properties"]
    document = props.get("KeyPolicy") or props["PolicyDocument"]
    found: dict[str, Any] = next(s for s in document["Statement"] if s.get("Sid") == sid)
    return found


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "events topic on the AWS managed key": (
        lambda t: _topic(t, "EventsTopic").update(KmsMasterKeyId="alias/aws/sns"),
        "EventsTopic uses the AWS managed key alias/aws/sns",
    ),
    "alarm topic on the AWS managed key": (
        lambda t: _topic(t, "AlarmTopic").update(KmsMasterKeyId="alias/aws/sns"),
        "AlarmTopic uses the AWS managed key alias/aws/sns",
    ),
    "key policy without SES": (
        lambda t: t["Resources"]["TopicKey"]["Properties"]["KeyPolicy"]["Statement"].remove(
            _statement(t, "TopicKey", "SesPublishesEvents")
        ),
        "does not let ses.amazonaws.com kms:GenerateDataKey",
    ),
    "key policy for SES of any account": (
        lambda t: _statement(t, "TopicKey", "SesPublishesEvents").pop("Condition"),
        "does not let ses.amazonaws.com kms:Decrypt",
    ),
    "key policy without CloudWatch": (
        lambda t: t["Resources"]["TopicKey"]["Properties"]["KeyPolicy"]["Statement"].remove(
            _statement(t, "TopicKey", "CloudWatchPublishesAlarms")
        ),
        "does not let cloudwatch.amazonaws.com kms:GenerateDataKey",
    ),
    "no alarm topic policy": (
        lambda t: t["Resources"].pop("AlarmTopicPolicy"),
        "the policy of AlarmTopic does not let cloudwatch.amazonaws.com publish",
    ),
    "topic policy naming another configuration set": (
        lambda t: _statement(t, "EventsTopicPolicy", "AllowSesOfThisAccount")["Condition"][
            "ArnLike"
        ].update({"aws:SourceArn": {"Fn::Sub": "arn:aws:ses:::configuration-set/other"}}),
        "the policy of EventsTopic does not let ses.amazonaws.com publish",
    ),
    "queue policy naming another topic": (
        lambda t: _statement(t, "EventsQueuePolicy", "AllowTheTopic")["Condition"].update(
            {"ArnEquals": {"aws:SourceArn": {"Ref": "AlarmTopic"}}}
        ),
        "the policy of EventsQueue does not let sns.amazonaws.com send from EventsTopic",
    ),
    "firehose may not write its error prefix": (
        lambda t: t["Resources"]["FirehoseRole"]["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ][0].update(Resource={"Fn::Sub": "${LakeBucket.Arn}/${RawPrefix}/*"}),
        "FirehoseRole may not write ErrorOutputPrefix",
    ),
    "a lake role without the bucket key": (
        lambda t: t["Resources"]["CompactFunction"]["Properties"]["Policies"][0]["Statement"].pop(),
        "CompactFunctionRole reads or writes the lake but may not kms:Decrypt KmsKeyArn",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_refused_delivery_is_reported(breakage: str) -> None:
    sam = copy.deepcopy(SAM)
    breaking, expected = BREAKAGES[breakage]
    breaking(sam)
    found = problems(translate(sam, {**ALL_ON, "KmsKeyArn": "arn:aws:kms:::key/lake"}))
    assert any(expected in p for p in found), found


def test_identity_notifications_may_use_the_events_topic_and_its_key() -> None:
    """The README says the older identity notifications can publish to the same topic."""
    from tests.cfn import statements
    from tests.deliveries import Stack, admits_service

    stack = Stack(DEPLOYED)
    topic_policy = stack.resource_policies("AWS::SNS::TopicPolicy", "Topics", "EventsTopic")
    key_policy = list(statements(stack.props("TopicKey")["KeyPolicy"]))
    for policy, action in ((topic_policy, "sns:Publish"), (key_policy, "kms:GenerateDataKey")):
        assert admits_service(
            policy, "ses.amazonaws.com", action, source_arn=":identity/", account_scoped=True
        )
