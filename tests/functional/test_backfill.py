"""Backfill: raw objects ingested again, each as ingest_s3 ingests it, so a second run (or a run
over objects already ingested) adds nothing. The state machine's definition, its Lambda step
against moto, and `seslake backfill` on a folder, on moto's S3 and on a stack."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from seslake.errors import TriggerError
from seslake_cli.backfill import Days, follow, start_on_stack
from seslake_cli.commands import main
from seslake_cli.stack import load_handler, load_template
from tests.conftest import EVENTS, load_event

BUCKET = "seslake-local"
FIREHOSE = (EVENTS / "ses" / "envelopes" / "firehose-batch.txt").read_bytes()
DAYS = ("2026/11/27", "2026/11/28", "2026/11/29")


def raw_key(day: str, n: int) -> str:
    return f"raw/{day}/12/ses-events-1-{day.replace('/', '-')}-{n}"


def body(n: int) -> bytes:
    """A Firehose object: the sample batch, gzip for odd n (Firehose may compress)."""
    return gzip.compress(FIREHOSE) if n % 2 else FIREHOSE


def snapshot(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Each file's rows, but for when they were ingested (a run again is a later ingest)."""
    return {
        p.relative_to(folder).as_posix(): pq.read_table(p, partitioning=None)
        .drop_columns(["ingested_at"])
        .to_pylist()
        for p in folder.rglob("*.parquet")
    }


def s3_snapshot(prefix: str) -> dict[str, str]:
    s3 = boto3.client("s3")
    keys = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {k["Key"]: k["ETag"] for k in keys}


# --- the state machine --------------------------------------------------------------------


def state_machine() -> dict[str, Any]:
    resource: dict[str, Any] = load_template()["Resources"]["BackfillStateMachine"]
    return resource


def test_the_state_machine_maps_over_the_raw_objects_in_batches_then_compacts() -> None:
    definition = state_machine()["Properties"]["Definition"]
    assert definition["StartAt"] == "IngestObjects"
    ingest = definition["States"]["IngestObjects"]
    assert ingest["Type"] == "Map" and ingest["Next"] == "Compact"
    assert ingest["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert ingest["ItemReader"]["Parameters"] == {"Bucket": "${Bucket}", "Prefix.$": "$.prefix"}
    assert ingest["ItemBatcher"]["BatchInput"] == {"bucket": "${Bucket}"}
    assert ingest["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    step = ingest["ItemProcessor"]["States"]["IngestBatch"]
    assert step["Resource"] == "arn:aws:states:::lambda:invoke"
    assert step["Parameters"] == {"FunctionName": "${BackfillFunction}", "Payload.$": "$"}
    retried = {error for rule in step["Retry"] for error in rule["ErrorEquals"]}
    assert {"Lambda.TooManyRequestsException", "LakeWriteError"} <= retried
    assert ingest["ResultWriter"]["Parameters"]["Prefix"] == "backfill-results"
    compact = definition["States"]["Compact"]
    assert compact["Parameters"]["FunctionName"] == "${CompactFunction}" and compact["End"]
    substitutions = state_machine()["Properties"]["DefinitionSubstitutions"]
    assert substitutions["BackfillFunction"] == {"Fn::GetAtt": ["BackfillFunction", "Arn"]}


def test_what_the_command_sends_is_what_the_map_reads(moto_aws: None) -> None:
    """The execution input `seslake backfill --stack` sends names every path the map reads."""
    ingest = state_machine()["Properties"]["Definition"]["States"]["IngestObjects"]
    paths = {
        ingest["ItemReader"]["Parameters"]["Prefix.$"],
        ingest["ItemBatcher"]["MaxItemsPerBatchPath"],
        ingest["MaxConcurrencyPath"],
        ingest["ToleratedFailurePercentagePath"],
    }
    client = boto3.client("stepfunctions")
    arn = client.create_state_machine(
        name="seslake-backfill",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/backfill",
    )["stateMachineArn"]
    days = Days(*(__import__("datetime").date(2026, 11, d) for d in (28, 29)))
    started = start_on_stack(arn, f"s3://{BUCKET}/raw/", days, 7, 5.0)
    assert len(started) == 2  # one execution per day's prefix
    sent = json.loads(client.describe_execution(executionArn=started[0])["input"])
    assert {f"$.{name}" for name in sent} == paths
    assert sent == {
        "prefix": "raw/2026/11/28/",
        "batch_size": 25,
        "max_concurrency": 7,
        "tolerated_failure_percentage": 5.0,
    }

    def stopped(seconds: float) -> None:  # the service ends the runs (moto never does)
        for execution in started:
            client.stop_execution(executionArn=execution)

    heard: list[dict[str, int]] = []
    statuses = follow(started, heard.append, sleep=stopped)
    assert set(statuses.values()) == {"ABORTED"} and len(heard) == 2


def test_the_state_machine_may_start_its_own_child_executions() -> None:
    properties = state_machine()["Properties"]
    statements = [s for p in properties["Policies"] if "Statement" in p for s in p["Statement"]]
    starts = [s for s in statements if "Action" in s and "states:StartExecution" in s["Action"]]
    (start,) = starts
    assert start["Resource"]["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}-backfill")
    assert properties["Name"] == {"Fn::Sub": "${AWS::StackName}-backfill"}


# --- the Lambda step and the command, against moto's S3 -----------------------------------


@pytest.fixture
def raw_bucket(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for day in DAYS:
        for n in (1, 2):
            s3.put_object(Bucket=BUCKET, Key=raw_key(day, n), Body=body(n))
    monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}/lake")
    return BUCKET


def map_event(keys: list[str]) -> dict[str, Any]:
    """A Distributed Map batch as the item reader and batcher hand it to the function."""
    s3 = boto3.client("s3")
    items = []
    for key in keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        items.append({"Key": key, "ETag": head["ETag"], "Size": head["ContentLength"]})
    return {"Items": items, "BatchInput": {"bucket": BUCKET}}


def test_a_backfill_after_ingest_s3_adds_nothing(raw_bucket: str, lambda_context: Any) -> None:
    s3 = boto3.client("s3")
    key = raw_key(DAYS[0], 1)
    version = s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    event = copy.deepcopy(load_event("ingest_s3/s3-object-created.json"))
    event["Records"][0]["s3"]["object"].update(
        {"key": key, "eTag": s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')}
    )
    event["Records"][0]["s3"]["object"]["versionId"] = version
    load_handler("ingest_s3").lambda_handler(event, lambda_context)
    ingested = s3_snapshot("lake/ses_events/")
    assert ingested
    result = load_handler("backfill").lambda_handler(map_event([key]), lambda_context)
    assert result["files"] == 1 and result["rows"] > 0 and result["failed_objects"] == {}
    assert s3_snapshot("lake/ses_events/").keys() == ingested.keys()  # the same files again


def test_the_command_on_moto_twice_adds_nothing(
    raw_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backfill", f"s3://{BUCKET}/raw/", "--lake", f"s3://{BUCKET}/lake"]
    argv += ["--workers", "1", "--no-progress"]  # moto lives in this process
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["files"] == 6 and first["rows"] > 0 and first["failed"] == 0
    after_one = s3_snapshot("lake/")
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["rows"] == first["rows"]
    assert s3_snapshot("lake/").keys() == after_one.keys()  # rewritten, nothing added
    days = ["--since", "2026-11-28", "--until", "2026-11-28"]
    assert main([*argv, *days]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 2


def test_the_lambda_step_and_the_command_write_the_same_files(
    raw_bucket: str, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [raw_key(day, n) for day in DAYS for n in (1, 2)]
    load_handler("backfill").lambda_handler(map_event(keys), lambda_context)
    by_map = s3_snapshot("lake/ses_events/")
    argv = ["backfill", f"s3://{BUCKET}/raw/", "--lake", f"s3://{BUCKET}/lake", "--workers", "1"]
    assert main([*argv, "--no-progress"]) == 0
    assert s3_snapshot("lake/ses_events/").keys() == by_map.keys()


def test_a_batch_that_is_not_a_map_batch_is_refused(raw_bucket: str, lambda_context: Any) -> None:
    with pytest.raises(TriggerError, match="not a Distributed Map batch"):
        load_handler("backfill").lambda_handler({"Items": []}, lambda_context)


# --- a folder on this machine, on both cores ---------------------------------------------


def test_a_folder_backfilled_twice_on_two_processes_is_the_same_lake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    for day in DAYS:
        for n in (1, 2, 3):
            path = raw / day / "12" / f"object-{n}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body(n))
    (raw / "README.txt").write_text("not of any day")
    lake = tmp_path / "lake"
    argv = ["backfill", str(raw), "--lake", str(lake), "--workers", "2", "--no-progress"]
    assert main([*argv, "--since", "2026-11-27", "--until", "2026-11-29"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["files"] == 9 and first["objects_per_s"] > 0
    before = snapshot(lake / "ses_events")
    assert main(argv) == 0  # every day (and the README, quarantined as not SES)
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == 10
    assert snapshot(lake / "ses_events") == before  # same files, same rows
    assert before and all(before.values())  # files, each with rows
