"""Quarantine reasons say what a payload is: an SES event type added since, something that is
not SES mail at all, or an event Athena could never read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seslake.ingest import Ingestor
from seslake.lake import LocalLake
from tests.conftest import SES, read_events, read_quarantine

NOW_MS = 1_764_460_800_000  # 2025-11-30T00:00:00Z


def reasons(tmp_path: Path, payload: bytes) -> list[str]:
    ingestor = Ingestor(LocalLake(tmp_path), now_ms=NOW_MS)
    ingestor.add_payload(payload, "test")
    ingestor.commit()
    return [entry["reason"] for entry in read_quarantine(tmp_path)]


def test_cloudtrail_and_sms_events_are_not_ses_sending_events(tmp_path: Path) -> None:
    payloads: dict[str, dict[str, object]] = {
        "AwsApiCall": {"eventSource": "ses.amazonaws.com", "eventName": "SendEmail"},
        "TEXT_SUCCESSFUL": {"attributes": {"destination_phone_number": "+1555"}},
    }
    for event_type, payload in payloads.items():
        text = json.dumps({"eventType": event_type, **payload}).encode()
        (reason,) = reasons(tmp_path / event_type, text)
        assert reason.startswith("not an SES sending event"), reason


def test_a_mail_event_of_a_type_ses_added_since_is_unknown(tmp_path: Path) -> None:
    record = json.loads((SES / "publishing" / "send.json").read_text())
    record["eventType"] = "Sparkle"
    (reason,) = reasons(tmp_path, json.dumps(record).encode())
    assert reason == "unknown SES eventType 'Sparkle'"


def test_cloudtrail_through_eventbridge_is_not_an_ses_sending_event(tmp_path: Path) -> None:
    event = {
        "source": "aws.ses",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventType": "AwsApiCall", "eventName": "SendEmail", "mail": {}},
    }
    (reason,) = reasons(tmp_path, json.dumps(event).encode())
    assert (
        reason == "not an SES sending event: EventBridge detail-type 'AWS API Call via CloudTrail'"
    )


def test_the_topic_validation_message_has_a_reason_of_its_own(tmp_path: Path) -> None:
    notification = {
        "Type": "Notification",
        "MessageId": "m",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Message": "Successfully validated SNS topic for Amazon SES event publishing.",
    }
    (reason,) = reasons(tmp_path, json.dumps(notification).encode())
    assert reason.startswith("not an SES event: SES's test message to a topic newly set")


@pytest.mark.parametrize(
    ("stamp", "kept"),
    [
        ("1970-01-01T00:00:00.000Z", False),
        ("0001-01-01T00:00:00.000Z", False),
        ("2010-12-31T23:59:59.999Z", False),
        ("2011-01-01T00:00:00.000Z", True),
        ("2025-11-30T23:59:59.000Z", True),  # within a day after the ingest clock
        ("2025-12-02T00:00:00.000Z", False),
        ("2099-01-01T00:00:00.000Z", False),
        ("9999-12-31T23:59:59.999Z", False),
    ],
)
def test_events_athena_could_never_read_are_quarantined(
    tmp_path: Path, stamp: str, kept: bool
) -> None:
    record = json.loads((SES / "publishing" / "send.json").read_text())
    record["mail"]["timestamp"] = stamp
    found = reasons(tmp_path, json.dumps(record).encode())
    assert bool(read_events(tmp_path)) is kept
    if not kept:
        (reason,) = found
        assert reason.startswith("send dated ") and stamp[-13:] in reason
        assert ": outside the days Athena's partition projection reads" in reason


def test_the_first_day_is_the_projections_first_day() -> None:
    from seslake.schema import FIRST_EVENT_DAY
    from seslake_cli.stack import load_template

    table = load_template()["Resources"]["SesEventsTable"]["Properties"]["TableInput"]
    assert table["Parameters"]["projection.dt.range"] == f"{FIRST_EVENT_DAY},NOW+1DAYS"
