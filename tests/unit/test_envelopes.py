"""Every envelope is recognized without flags, and the same event keeps one identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seslake.lake import LocalLake
from seslake.schema import EVENT_TYPES
from seslake.sources import ingest_files
from tests.conftest import SES, read_events, read_quarantine

BOUNCE_ID_FILES = [
    "publishing/bounce-permanent.json",
    "envelopes/lambda-sns-event.json",
    "eventbridge/email-bounced.json",
]


def ingest(tmp_path: Path, *names: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ingest_files([SES / n for n in names], LocalLake(tmp_path))
    return read_events(tmp_path), read_quarantine(tmp_path)


def test_sns_lambda_event_records_name_their_sns_message(tmp_path: Path) -> None:
    rows, bad = ingest(tmp_path, "envelopes/lambda-sns-event.json")
    assert bad == []
    assert [(r["event_type"], r["ingest_source"]) for r in rows] == [
        ("bounce", "sns:2a4c4175-45a3-4036-8203-f8ebd68294e1")
    ]


def test_sqs_batch_with_sns_json_bodies_is_decoded_twice(tmp_path: Path) -> None:
    rows, bad = ingest(tmp_path, "envelopes/sqs-from-sns.json")
    event = json.loads((SES / "envelopes/sqs-from-sns.json").read_text())
    assert bad == []
    assert sorted(r["ingest_source"] for r in rows) == sorted(
        f"sqs:{r['messageId']}" for r in event["Records"]
    )


def test_sqs_batch_with_raw_delivery(tmp_path: Path) -> None:
    rows, bad = ingest(tmp_path, "envelopes/sqs-from-sns-raw.json")
    assert bad == [] and len(rows) == 2
    assert all(r["ingest_source"].startswith("sqs:") for r in rows)


def test_sqs_batch_mixing_raw_and_wrapped_bodies(tmp_path: Path) -> None:
    wrapped = json.loads((SES / "envelopes/sqs-from-sns.json").read_text())["Records"][0]
    raw = json.loads((SES / "envelopes/sqs-from-sns-raw.json").read_text())["Records"][1]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"Records": [wrapped, raw]}))
    ingest_files([path], LocalLake(tmp_path / "lake"))
    rows = read_events(tmp_path / "lake")
    assert {r["ingest_source"] for r in rows} == {
        f"sqs:{wrapped['messageId']}",
        f"sqs:{raw['messageId']}",
    }


def test_sns_http_notification_json_and_sqs_body(tmp_path: Path) -> None:
    rows, bad = ingest(
        tmp_path, "envelopes/sns-http-notification.json", "envelopes/sqs-message-body-from-sns.json"
    )
    assert bad == []
    assert sorted(r["event_type"] for r in rows) == ["complaint", "delivery"]


def test_http_request_file_keeps_the_body_and_quarantines_the_headers(tmp_path: Path) -> None:
    rows, bad = ingest(tmp_path, "envelopes/sns-http-notification.http")
    assert [r["event_type"] for r in rows] == ["delivery"]
    assert len(bad) == 1 and bad[0]["reason"].startswith("not JSON (lines 1-")
    assert bad[0]["payload"].startswith("POST ")


def test_firehose_batch(tmp_path: Path) -> None:
    rows, bad = ingest(tmp_path, "envelopes/firehose-batch.txt")
    assert bad == []
    assert sorted({r["event_type"] for r in rows}) == sorted(EVENT_TYPES)


def test_same_event_through_every_envelope_has_one_identity(tmp_path: Path) -> None:
    rows, bad = ingest(
        tmp_path, *BOUNCE_ID_FILES, "envelopes/sqs-from-sns.json", "envelopes/firehose-batch.txt"
    )
    assert bad == []
    bounces = [r for r in rows if r["event_type"] == "bounce"]
    assert len(bounces) >= 4
    assert len({r["event_id"] for r in bounces}) == 1


def test_not_ses_events_are_quarantined_with_reasons(tmp_path: Path) -> None:
    rows, bad = ingest(
        tmp_path,
        "receiving/received-sns-action.json",
        "envelopes/reference/sns-http-subscription-confirmation-doc-example.json",
        "envelopes/reference/lambda-sns-doc-example.json",
    )
    assert rows == []
    reasons = sorted(b["reason"] for b in bad)
    assert any("email receiving notification" in r for r in reasons)
    assert any("SNS SubscriptionConfirmation" in r for r in reasons)
    assert any(r.startswith("SNS Message is not JSON") for r in reasons)
    # The original payload is kept, so nothing is lost.
    received = next(b for b in bad if "receiving" in b["reason"])
    assert json.loads(received["payload"])["notificationType"] == "Received"
