"""The redrive procedure of docs/deploy.md: SES messages that reached the events dead-letter
queue go back into the events queue and are ingested like any other.

moto has no message move task, so the move is done as the task does it: each message's body
received from the DLQ, sent to the events queue, then deleted from the DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from seslake_cli.stack import REGION, LocalContext, LocalStack, environment, load_handler, stand_up
from tests.conftest import SES


@pytest.fixture
def stack(moto_aws: None) -> Iterator[LocalStack]:
    with environment({"LAKE_URI": None}):
        yield stand_up()


def _receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    ).get("Messages", [])
    return got


def test_a_redriven_ses_message_is_ingested(stack: LocalStack) -> None:
    sns, sqs, s3 = boto3.client("sns"), boto3.client("sqs"), boto3.client("s3")
    queue, dlq = stack.physical["EventsQueue"], stack.physical["EventsDeadLetterQueue"]
    record = json.loads((SES / "publishing" / "delivery.json").read_text())
    sns.publish(TopicArn=stack.physical["EventsTopic"], Message=json.dumps(record))

    # GIVEN the message was received and never deleted as often as the queue allows
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    for _ in range(redrive["maxReceiveCount"]):
        assert len(_receive_all(sqs, queue)) == 1
    assert _receive_all(sqs, queue) == []  # the next receive moved it to the DLQ
    (dead,) = _receive_all(sqs, dlq)

    # WHEN it is moved back (what `aws sqs start-message-move-task` does)
    sqs.send_message(QueueUrl=queue, MessageBody=dead["Body"])
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=dead["ReceiptHandle"])
    (message,) = _receive_all(sqs, queue)
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": stack.attributes[("EventsQueue", "Arn")],
                "awsRegion": REGION,
            }
        ]
    }
    with environment(dict(stack.function_environment("IngestSnsFunction"))):
        response = load_handler("ingest_sns").lambda_handler(event, LocalContext("ingest_sns"))

    # THEN it lands in the lake as a delivery, and nothing is quarantined
    assert response == {"batchItemFailures": []}
    listed = s3.list_objects_v2(Bucket=stack.physical["LakeBucket"], Prefix="lake/")
    written = [item["Key"] for item in listed["Contents"]]
    assert len(written) == 1 and "/event_type=delivery/" in written[0]
