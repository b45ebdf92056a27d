"""Every documented SES sample yields the expected rows, field by field."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from seslake.lake import LocalLake
from seslake.sources import ingest_files
from tests.conftest import SES, read_events, read_quarantine

MSG = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
COMMON_TAGS = {
    "ses:configuration-set": ["ConfigSet"],
    "ses:source-ip": ["192.0.2.0"],
    "ses:from-domain": ["example.com"],
    "ses:caller-identity": ["ses_user"],
}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rows_of(tmp_path: Path, *names: str) -> list[dict[str, Any]]:
    stats = ingest_files([SES / n for n in names], LocalLake(tmp_path))
    assert stats.quarantined == 0, read_quarantine(tmp_path)
    return read_events(tmp_path)


def only(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def test_send(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/send.json"))
    assert row["event_type"] == "send"
    assert row["source_format"] == "event_publishing"
    assert row["message_id"] == MSG
    assert row["recipient"] == "recipient@example.com"
    assert row["event_at"] == row["sent_at"] == ts("2016-10-14 05:02:16.645")
    assert row["dt"] == "2016-10-14"
    assert row["source"] == "sender@example.com"
    assert row["from_address"] == "sender@example.com"
    assert row["subject"] == "Message sent from Amazon SES"
    assert row["destination"] == ["recipient@example.com"]
    assert row["sending_account_id"] == "123456789012"
    assert row["configuration_set"] == "ConfigSet"
    assert row["source_ip"] == "192.0.2.0"
    assert row["caller_identity"] == "ses_user"
    assert dict(row["tags"]) == {
        **COMMON_TAGS,
        "myCustomTag1": ["myCustomTagValue1"],
        "myCustomTag2": ["myCustomTagValue2"],
    }
    assert row["raw"].startswith('{"eventType":"Send"') and "\n" not in row["raw"]
    assert row["ingest_source"].endswith("publishing/send.json")
    assert row["ingested_at"] is not None


def test_bounce_permanent(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/bounce-permanent.json"))
    assert row["event_type"] == "bounce"
    assert row["recipient"] == "recipient@example.com"
    assert row["event_at"] == ts("2017-08-05 00:41:02.669")
    assert row["sent_at"] == ts("2017-08-05 00:40:02.012")
    assert (row["bounce_type"], row["bounce_subtype"]) == ("Permanent", "General")
    assert (row["bounce_action"], row["bounce_status"]) == ("failed", "5.1.1")
    assert row["diagnostic_code"] == "smtp; 550 5.1.1 user unknown"
    assert row["feedback_id"] == "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert row["reporting_mta"] == "dsn; mta.example.com"
    assert row["source"] == "Sender Name <sender@example.com>"
    assert row["from_address"] == "sender@example.com"
    assert dict(row["tags"]) == COMMON_TAGS


def test_complaint(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/complaint.json"))
    assert row["event_type"] == "complaint"
    assert row["recipient"] == "recipient@example.com"
    assert row["event_at"] == ts("2017-08-05 00:41:02.669")
    assert row["complaint_feedback_type"] == "abuse"
    assert row["complaint_subtype"] is None
    assert row["complaint_arrival_at"] == ts("2017-08-05 00:41:02.669")
    assert row["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert row["feedback_id"] == "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"


def test_delivery(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/delivery.json"))
    assert row["event_type"] == "delivery"
    assert row["event_at"] == ts("2016-10-19 23:21:04.133")
    assert row["sent_at"] == ts("2016-10-19 23:20:52.240")
    assert row["processing_time_ms"] == 11893
    assert row["smtp_response"] == "250 2.6.0 Message received"
    assert row["reporting_mta"] == "mta.example.com"
    assert dict(row["tags"])["ses:outgoing-ip"] == ["192.0.2.0"]


def test_reject(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/reject.json"))
    assert row["event_type"] == "reject"
    # SES's example rejects a message whose only destination is the sender (sic).
    assert row["recipient"] == "sender@example.com"
    assert row["event_at"] == row["sent_at"] == ts("2016-10-14 17:38:15.211")
    assert row["reject_reason"] == "Bad content"


def test_open(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/open.json"))
    assert row["event_type"] == "open"
    assert row["event_at"] == ts("2017-08-09 22:00:19.652")
    assert row["ip_address"] == "192.0.2.1"
    assert row["user_agent"].startswith("Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3")
    assert row["caller_identity"] == "IAM_user_or_role_name"
    assert dict(row["tags"])["myCustomTag1"] == ["myCustomValue1"]


def test_click(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/click.json"))
    assert row["event_type"] == "click"
    assert row["event_at"] == ts("2017-08-09 23:51:25.570")
    assert (
        row["link"] == "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"
    )
    assert dict(row["link_tags"]) == {
        "samplekey0": ["samplevalue0"],
        "samplekey1": ["samplevalue1"],
    }
    assert row["ip_address"] == "192.0.2.1"
    assert "Chrome/60.0.3112.90" in row["user_agent"]


def test_rendering_failure(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/rendering-failure.json"))
    assert row["event_type"] == "rendering_failure"
    assert row["event_at"] == row["sent_at"] == ts("2018-01-22 18:43:06.197")
    assert row["error_message"] == "Attribute 'attributeName' is not present in the rendering data."
    assert row["template_name"] == "MyTemplate"
    assert row["subject"] is None
    assert dict(row["tags"]) == {"ses:configuration-set": ["ConfigSet"]}


def test_delivery_delay(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/deliverydelay.json"))
    assert row["event_type"] == "delivery_delay"
    assert row["event_at"] == ts("2020-06-16 00:25:40.095")
    assert row["delay_type"] == "TransientCommunicationFailure"
    assert row["delay_expires_at"] == ts("2020-06-16 00:25:40.914")
    assert row["delay_status"] == "4.4.1"
    assert row["diagnostic_code"] == "smtp; 421 4.4.1 Unable to connect to remote host"
    assert row["from_address"] == "sender@example.com"  # no headers: falls back to mail.source


def test_subscription(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "publishing/subscription.json"))
    assert row["event_type"] == "subscription"
    assert row["message_id"] == "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000"
    assert row["event_at"] == ts("2022-01-12 01:00:17.910")
    assert row["contact_list"] == "ContactListName"
    assert row["subscription_source"] == "UnsubscribeHeader"
    assert row["unsubscribe_all"] is True
    assert dict(row["topic_preferences"]) == {"ExampleTopicName": "OptOut"}
    assert row["is_opt_out"] is True
    assert dict(row["tags"])["ses:operation"] == ["SendEmail"]


def test_notification_bounce_with_dsn(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "notifications/bounce.json"))
    assert row["event_type"] == "bounce"
    assert row["source_format"] == "notification"
    assert row["recipient"] == "jane@example.com"
    assert row["destination"] == ["jane@example.com", "mary@example.com", "richard@example.com"]
    assert row["bounce_status"] == "5.1.1"
    assert row["diagnostic_code"] == "smtp; 550 5.1.1 <jane@example.com>... User"
    assert row["reporting_mta"] == "dns; email.example.com"
    assert row["remote_mta_ip"] == "127.0.2.0"
    assert row["source_ip"] == "127.0.3.0"
    assert row["caller_identity"] == "IAM_user_or_role_name"
    assert row["from_address"] == "john@example.com"
    assert row["tags"] is None and row["configuration_set"] is None


def test_notification_bounce_without_dsn_has_a_row_per_bounced_recipient(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, "notifications/bounce-no-dsn.json")
    assert [r["recipient"] for r in rows] == ["jane@example.com", "richard@example.com"]
    assert all(r["bounce_status"] is None and r["diagnostic_code"] is None for r in rows)
    assert all(r["bounce_type"] == "Permanent" for r in rows)
    assert rows[0]["event_id"] != rows[1]["event_id"]


def test_notification_complaints(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path, "notifications/complaint.json", "notifications/complaint-no-feedback.json"
    )
    by_msg = {r["message_id"]: r for r in rows}
    with_report = by_msg["000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000"]
    assert with_report["recipient"] == "richard@example.com"
    assert with_report["complaint_feedback_type"] == "abuse"
    assert with_report["user_agent"] == "AnyCompany Feedback Loop (V0.01)"
    bare = by_msg["0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000"]
    assert bare["complaint_feedback_type"] is None and bare["complaint_arrival_at"] is None


def test_notification_delivery(tmp_path: Path) -> None:
    row = only(rows_of(tmp_path, "notifications/delivery.json"))
    assert row["recipient"] == "jane@example.com"
    assert row["processing_time_ms"] == 546
    assert row["smtp_response"] == "250 ok:  Message 64111812 accepted"
    assert row["remote_mta_ip"] == "127.0.2.0"


@pytest.mark.parametrize("name", sorted(p.name for p in (SES / "eventbridge").glob("*.json")))
def test_eventbridge_matches_the_published_record(tmp_path: Path, name: str) -> None:
    bridge = only(rows_of(tmp_path / "bridge", f"eventbridge/{name}"))
    published = {
        "email-bounced.json": "bounce-permanent.json",
        "email-clicked.json": "click.json",
        "email-complaint-received.json": "complaint.json",
        "email-delivered.json": "delivery.json",
        "email-delivery-delayed.json": "deliverydelay.json",
        "email-opened.json": "open.json",
        "email-rejected.json": "reject.json",
        "email-rendering-failed.json": "rendering-failure.json",
        "email-sent.json": "send.json",
        "email-subscribed.json": "subscription.json",
    }[name]
    direct = only(rows_of(tmp_path / "direct", f"publishing/{published}"))
    for column in ("event_id", "event_type", "message_id", "recipient", "event_at", "sent_at"):
        assert bridge[column] == direct[column], column
