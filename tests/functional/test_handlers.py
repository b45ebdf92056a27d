"""The Lambda handlers, run for real against moto's S3 with a fake Lambda context."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from seslake.errors import LakeWriteError, TriggerError
from seslake_cli.stack import load_handler
from tests.conftest import ROOT, SES, load_event, read_events, read_quarantine

BUCKET = "seslake-local"


def download(prefix: str, dest: Path) -> Path:
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(BUCKET, obj["Key"], str(target))
    return dest


@pytest.fixture
def bucket(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}/lake")
    monkeypatch.setenv("RAW_PREFIX", "raw/")
    return BUCKET


def test_sqs_batch_lands_in_the_lake(bucket: str, lambda_context: Any, tmp_path: Path) -> None:
    handler = load_handler("ingest_sns")
    event = load_event("ingest_sns/sqs-sns-wrapped.json")
    response = handler.lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    rows = read_events(download("lake/", tmp_path))
    assert sorted(r["ingest_source"] for r in rows) == sorted(
        f"sqs:{r['messageId']}" for r in event["Records"]
    )


def test_sqs_bad_body_is_quarantined_not_retried(
    bucket: str, lambda_context: Any, tmp_path: Path
) -> None:
    handler = load_handler("ingest_sns")
    event = load_event("ingest_sns/sqs-raw-delivery.json")
    bad = copy.deepcopy(event["Records"][0])
    bad["messageId"] = "bad-one"
    bad["body"] = '{"eventType":"Send","mail":'
    event["Records"].append(bad)
    response = handler.lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    lake = download("lake/", tmp_path)
    assert len(read_events(lake)) == 2
    (entry,) = read_quarantine(lake)
    assert entry["origin"] == "sqs:bad-one" and entry["payload"] == bad["body"]


def test_only_records_whose_write_failed_are_retried(bucket: str, lambda_context: Any) -> None:
    handler = load_handler("ingest_sns")
    event = load_event("ingest_sns/sqs-sns-wrapped.json")  # a bounce and a delivery

    def refuse_bounces(params: dict[str, Any], **_: Any) -> None:
        if "event_type=bounce" in params["Key"]:
            raise ConnectionError("S3 unreachable (injected)")

    client = handler.lake().client
    client.meta.events.register("before-parameter-build.s3.PutObject", refuse_bounces)
    response = handler.lambda_handler(event, lambda_context)
    bounce_record = next(r for r in event["Records"] if "Bounce" in r["body"])
    assert response == {"batchItemFailures": [{"itemIdentifier": bounce_record["messageId"]}]}


@pytest.mark.parametrize(
    ("event_file", "error", "message"),
    [
        # A whole SQS batch that cannot be written fails whole: the queue retries it.
        ("ingest_sns/sqs-sns-wrapped.json", LakeWriteError, "All records failed"),
        # A direct SNS invocation raises, so Lambda retries it, then its on-failure destination.
        ("ingest_sns/sns-direct.json", LakeWriteError, "no-such-bucket"),
    ],
)
def test_an_unwritable_lake_fails_the_invocation(
    moto_aws: None,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    event_file: str,
    error: type[Exception],
    message: str,
) -> None:
    monkeypatch.setenv("LAKE_URI", "s3://no-such-bucket/lake")
    handler = load_handler("ingest_sns")
    with pytest.raises(error, match=message):
        handler.lambda_handler(load_event(event_file), lambda_context)


def test_eventbridge_events_through_the_queue(
    bucket: str, lambda_context: Any, tmp_path: Path
) -> None:
    """What the optional EventBridge rule delivers: the EventBridge event as the SQS body."""
    event = load_event("ingest_sns/sqs-eventbridge.json")
    response = load_handler("ingest_sns").lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    rows = read_events(download("lake/", tmp_path))
    assert sorted(r["event_type"] for r in rows) == ["delivery", "open"]
    assert {r["ingest_source"] for r in rows} == {f"sqs:{r['messageId']}" for r in event["Records"]}


def test_direct_sns_event(bucket: str, lambda_context: Any, tmp_path: Path) -> None:
    handler = load_handler("ingest_sns")
    response = handler.lambda_handler(load_event("ingest_sns/sns-direct.json"), lambda_context)
    assert response["rows"] == 1 and response["quarantined"] == 0
    (row,) = read_events(download("lake/", tmp_path))
    assert row["event_type"] == "bounce" and row["ingest_source"].startswith("sns:")


def s3_event(key: str, etag: str = "abc") -> dict[str, Any]:
    event = load_event("ingest_s3/s3-object-created.json")
    from urllib.parse import quote_plus

    event["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")
    event["Records"][0]["s3"]["object"]["eTag"] = etag
    return dict(event)


def test_firehose_object_gzip_with_encoded_key(
    bucket: str, lambda_context: Any, tmp_path: Path
) -> None:
    key = "raw/2026/11/29/ses events 1.gz"
    body = gzip.compress((SES / "envelopes/firehose-batch.txt").read_bytes() + b"oops\n")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    handler = load_handler("ingest_s3")
    response = handler.lambda_handler(s3_event(key), lambda_context)
    (result,) = response["objects"]
    assert (result["records"], result["rows"], result["quarantined"]) == (11, 10, 1)
    lake = download("lake/", tmp_path)
    rows = read_events(lake)
    assert {r["ingest_source"] for r in rows} == {f"s3://{bucket}/{key}"}
    assert read_quarantine(lake)[0]["payload"] == "oops"
    # Retrying the same object (same key and etag) overwrites: no new rows.
    handler.lambda_handler(s3_event(key), lambda_context)
    assert len(read_events(download("lake/", tmp_path / "again"))) == 10


def test_s3_object_outside_the_raw_prefix_is_refused(bucket: str, lambda_context: Any) -> None:
    handler = load_handler("ingest_s3")
    with pytest.raises(TriggerError, match="outside the raw prefix"):
        handler.lambda_handler(s3_event("lake/ses_events/x.parquet"), lambda_context)


def test_s3_test_event_is_a_no_op(bucket: str, lambda_context: Any) -> None:
    """S3 sends it once when the notification is configured."""
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}
    assert load_handler("ingest_s3").lambda_handler(event, lambda_context) == {"objects": []}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "eventSource 'aws:sqs'"),
        ({"source": "aws.s3", "detail-type": "Object Created"}, "keys: detail-type, source"),
        ({}, "keys: none"),
    ],
)
def test_events_that_are_not_s3_notifications_fail_loudly(
    bucket: str,
    lambda_context: Any,
    event: dict[str, Any],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLUE_DATABASE", "seslake")
    monkeypatch.setenv("ATHENA_WORKGROUP", "seslake")
    for function in ("ingest_s3", "load_internal"):
        with pytest.raises(TriggerError, match=message):
            load_handler(function).lambda_handler(event, lambda_context)


def test_handlers_do_not_import_pandas_or_awswrangler() -> None:
    import subprocess
    import sys

    code = (
        "import sys, importlib.util\n"
        f"root = r'{ROOT}/functions/'\n"
        "for name in ('ingest_sns', 'ingest_s3'):\n"
        "    path = root + name + '/app.py'\n"
        "    spec = importlib.util.spec_from_file_location(name, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'awswrangler') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": ""},
    )
    assert json.loads(out.stdout) == []
