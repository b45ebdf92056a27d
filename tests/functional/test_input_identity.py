"""Two different inputs never share an output file; the same input again rewrites its own.

Saved Lambda events carry SQS and SNS message ids that sample events share (SAM's generated
SQS id, the AWS SNS sample id): an input's identity is where it was read from and what it
holds, then the record inside it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from seslake.lake import LocalLake
from seslake.sources import ingest_files
from seslake_cli.stack import load_handler
from tests.conftest import load_event, read_events, read_quarantine

SAMPLE = "ingest_sns/sqs-raw-delivery.json"


def _with_message_id(event: dict[str, Any], message_id: str) -> dict[str, Any]:
    """The same SQS event (same SQS message ids) about another SES message."""
    changed = copy.deepcopy(event)
    for record in changed["Records"]:
        record["body"] = record["body"].replace("EXAMPLE7c191be45", message_id)
    return changed


def test_two_saved_events_with_the_same_sqs_ids_are_both_kept(tmp_path: Path) -> None:
    event = load_event(SAMPLE)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_with_message_id(event, "first-message")))
    second.write_text(json.dumps(_with_message_id(event, "second-message")))
    lake = tmp_path / "lake"
    ingest_files([first], LocalLake(lake))
    ingest_files([second], LocalLake(lake))
    ids = {row["message_id"].split("-e9aedb9a")[0] for row in read_events(lake)}
    assert ids == {"first-message", "second-message"}


def test_their_quarantine_entries_are_both_kept(tmp_path: Path) -> None:
    event = load_event(SAMPLE)
    for name, body in (("a.json", "not json one"), ("b.json", "not json two")):
        bad = copy.deepcopy(event)
        bad["Records"][0]["body"] = body
        (tmp_path / name).write_text(json.dumps(bad))
        ingest_files([tmp_path / name], LocalLake(tmp_path / "lake"))
    payloads = {e["payload"] for e in read_quarantine(tmp_path / "lake")}
    assert payloads == {"not json one", "not json two"}


def test_the_same_file_again_adds_nothing(tmp_path: Path) -> None:
    source = tmp_path / "a.json"
    source.write_text(json.dumps(load_event(SAMPLE)))
    lake = tmp_path / "lake"
    ingest_files([source], LocalLake(lake))
    files = sorted(p.name for p in (lake / "ses_events").rglob("*.parquet"))
    ingest_files([source], LocalLake(lake))
    assert sorted(p.name for p in (lake / "ses_events").rglob("*.parquet")) == files


@pytest.fixture
def versioned_bucket(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw-bucket")
    s3.put_bucket_versioning(Bucket="raw-bucket", VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv("LAKE_URI", "s3://raw-bucket/lake")
    monkeypatch.setenv("RAW_PREFIX", "raw/")
    return "raw-bucket"


def test_ingest_s3_reads_the_version_the_event_names(
    versioned_bucket: str, lambda_context: Any, tmp_path: Path
) -> None:
    s3 = boto3.client("s3")
    key = "raw/2026/11/29/ses-events-1"
    record = load_event("ses/publishing/send.json")
    versions = []
    for message_id in ("version-one", "version-two"):
        record["mail"]["messageId"] = message_id
        put = s3.put_object(Bucket=versioned_bucket, Key=key, Body=json.dumps(record).encode())
        versions.append(put["VersionId"])
    event = load_event("ingest_s3/s3-object-created.json")
    obj = event["Records"][0]["s3"]
    obj["bucket"]["name"] = versioned_bucket
    obj["object"].update(key=key, versionId=versions[0])  # the first write's notification

    load_handler("ingest_s3").lambda_handler(event, lambda_context)

    listed = s3.list_objects_v2(Bucket=versioned_bucket, Prefix="lake/ses_events/")
    (part,) = [item["Key"] for item in listed["Contents"]]
    local = tmp_path / "lake" / part.removeprefix("lake/")
    local.parent.mkdir(parents=True)
    s3.download_file(versioned_bucket, part, str(local))
    assert [row["message_id"] for row in read_events(tmp_path / "lake")] == ["version-one"]
