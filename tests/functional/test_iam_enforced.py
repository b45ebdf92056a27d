"""Every function end to end with only its own IAM role, moto refusing anything else.

The roles are the ones SAM generates from template.yaml (tests/iam.py). Each function first
runs its real work with its role; then the same run with one of its statements removed must
fail, so the first run cannot pass because nothing was checked.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from seslake.errors import CompactionError, LakeWriteError
from seslake.lake import open_lake
from seslake.sources import ingest_lambda_event
from seslake.views import load_views
from seslake_cli.invoke import SAMPLE_OBJECTS, _place_s3_objects
from seslake_cli.stack import (
    LocalContext,
    LocalStack,
    cloudformation_endpoint,
    environment,
    load_handler,
    stand_up,
)
from tests.conftest import load_event
from tests.iam import MOTO_CONFIG, function_role, without


@pytest.fixture
def stack(aws_env: None) -> Iterator[LocalStack]:
    """The stack's resources in moto, and the environment the template gives functions."""
    from moto import mock_aws

    with mock_aws(config=MOTO_CONFIG), environment({"LAKE_URI": None}):
        yield stand_up()


def keys(stack: LocalStack, prefix: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["LakeBucket"], Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def run(stack: LocalStack, function: str, name: str, event: dict[str, Any]) -> Any:
    with environment(dict(stack.function_environment(function))):
        return load_handler(name).lambda_handler(event, LocalContext(name))


def s3_event(stack: LocalStack, sample: str, body: bytes) -> dict[str, Any]:
    event: dict[str, Any] = load_event(sample)
    _place_s3_objects(event, stack, body)  # as the test's own (unrestricted) identity
    return event


# ingest_sns ------------------------------------------------------------------------------


def test_ingest_sns_writes_the_lake_with_its_role(stack: LocalStack) -> None:
    event = load_event("ingest_sns/sqs-sns-wrapped.json")
    with function_role(stack, "IngestSnsFunction"):
        response = run(stack, "IngestSnsFunction", "ingest_sns", event)
    assert response == {"batchItemFailures": []}
    written = keys(stack, "lake/ses_events/")
    assert {k.split("/")[2] for k in written} == {"event_type=bounce", "event_type=delivery"}


def test_ingest_sns_without_put_object_fails(stack: LocalStack) -> None:
    event = load_event("ingest_sns/sqs-sns-wrapped.json")
    with (
        function_role(stack, "IngestSnsFunction", lambda r: without(r, "s3:PutObject")),
        pytest.raises(LakeWriteError),  # every record failed: Lambda retries the batch
    ):
        run(stack, "IngestSnsFunction", "ingest_sns", event)
    assert keys(stack, "lake/") == []


# ingest_s3 -------------------------------------------------------------------------------


def test_ingest_s3_reads_raw_and_writes_the_lake_with_its_role(stack: LocalStack) -> None:
    body = SAMPLE_OBJECTS["ingest_s3"].read_bytes()
    event = s3_event(stack, "ingest_s3/s3-object-created.json", body)
    with function_role(stack, "IngestS3Function"):
        response = run(stack, "IngestS3Function", "ingest_s3", event)
    (result,) = response["objects"]
    assert result["rows"] > 0 and not result["failed"]
    assert keys(stack, "lake/ses_events/")


def test_ingest_s3_without_get_object_fails(stack: LocalStack) -> None:
    body = SAMPLE_OBJECTS["ingest_s3"].read_bytes()
    event = s3_event(stack, "ingest_s3/s3-object-created.json", body)
    with (
        function_role(stack, "IngestS3Function", lambda r: without(r, "s3:GetObject")),
        pytest.raises(ClientError, match="AccessDenied"),
    ):
        run(stack, "IngestS3Function", "ingest_s3", event)


# backfill --------------------------------------------------------------------------------


def map_batch(stack: LocalStack) -> dict[str, Any]:
    """A Distributed Map batch of one raw object, as the state machine hands it over."""
    body = SAMPLE_OBJECTS["ingest_s3"].read_bytes()
    placed = s3_event(stack, "ingest_s3/s3-object-created.json", body)["Records"][0]["s3"]
    bucket, key = placed["bucket"]["name"], placed["object"]["key"]
    return {"Items": [{"Key": key, "Size": len(body)}], "BatchInput": {"bucket": bucket}}


def test_backfill_reads_raw_and_writes_the_lake_with_its_role(stack: LocalStack) -> None:
    batch = map_batch(stack)
    with function_role(stack, "BackfillFunction"):
        response = run(stack, "BackfillFunction", "backfill", batch)
    assert response["rows"] > 0 and response["failed_objects"] == {}
    assert keys(stack, "lake/ses_events/")


def test_backfill_without_put_object_fails(stack: LocalStack) -> None:
    batch = map_batch(stack)
    with (
        function_role(stack, "BackfillFunction", lambda r: without(r, "s3:PutObject")),
        pytest.raises(LakeWriteError, match="AccessDenied"),
    ):
        run(stack, "BackfillFunction", "backfill", batch)
    assert keys(stack, "lake/") == []


# erase -----------------------------------------------------------------------------------


def erase_batch(stack: LocalStack, versioned: bool = True) -> dict[str, Any]:
    """A batch of the erase state machine's raw map: one raw object and the request naming
    an address its records hold, placed by the test's own identity."""
    import boto3

    body = SAMPLE_OBJECTS["ingest_s3"].read_bytes()
    placed = s3_event(stack, "ingest_s3/s3-object-created.json", body)["Records"][0]["s3"]
    bucket, key = placed["bucket"]["name"], placed["object"]["key"]
    s3 = boto3.client("s3")
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key=key, Body=body)  # a second version of it
    request = "erase-requests/run.json"
    s3.put_object(Bucket=bucket, Key=request, Body=b'{"addresses": ["recipient@example.com"]}')
    return {"Items": [{"Key": key}], "BatchInput": {"request": request}}


def test_erase_rewrites_raw_and_drops_old_versions_with_its_role(stack: LocalStack) -> None:
    batch = erase_batch(stack)
    with function_role(stack, "EraseFunction"):
        response = run(stack, "EraseFunction", "erase", batch)
    assert response["raw_records_removed"] == 10 and response["files_deleted"] == 1
    assert response["versions_deleted"] >= 2


def test_erase_without_listing_versions_fails(stack: LocalStack) -> None:
    batch = erase_batch(stack)
    with (
        function_role(stack, "EraseFunction", lambda r: without(r, "s3:ListBucketVersions")),
        pytest.raises(ClientError, match="AccessDenied"),
    ):
        run(stack, "EraseFunction", "erase", batch)


# load_internal ---------------------------------------------------------------------------


def test_load_internal_loads_adds_columns_and_creates_views_with_its_role(
    stack: LocalStack,
) -> None:
    body = SAMPLE_OBJECTS["load_internal"].read_bytes()
    event = s3_event(stack, "load_internal/s3-object-created.json", body)
    with function_role(stack, "LoadInternalFunction"):
        response = run(stack, "LoadInternalFunction", "load_internal", event)
    (result,) = response["objects"]
    assert result["rows"] > 0 and result["columns_added"]
    assert keys(stack, "lake/ses_requests/")
    executions = boto3.client("athena").list_query_executions(WorkGroup="seslake-seslake")
    assert len(executions["QueryExecutionIds"]) == len(load_views())  # one statement per view


def test_load_internal_without_glue_update_table_fails(stack: LocalStack) -> None:
    body = SAMPLE_OBJECTS["load_internal"].read_bytes()
    event = s3_event(stack, "load_internal/s3-object-created.json", body)
    with (
        function_role(stack, "LoadInternalFunction", lambda r: without(r, "glue:UpdateTable")),
        pytest.raises(ClientError, match="AccessDenied"),
    ):
        run(stack, "LoadInternalFunction", "load_internal", event)


# create_views ----------------------------------------------------------------------------


def _create_views(stack: LocalStack, edit: Any = None) -> dict[str, Any]:
    """The custom resource's Create, with one loaded internal file in the lake whose column
    the Glue table lacks (as after a stack update)."""
    loaded = io.BytesIO()
    pq.write_table(pa.table({"message_id": ["m1"], "customer_tier": ["gold"]}), loaded)
    boto3.client("s3").put_object(
        Bucket=stack.physical["LakeBucket"],
        Key="lake/ses_requests/requests-1.parquet",
        Body=loaded.getvalue(),
    )
    received: list[dict[str, Any]] = []
    with cloudformation_endpoint(received) as url:
        event = {**load_event("create_views/create.json"), "ResponseURL": url}
        with function_role(stack, "CreateViewsFunction", edit):
            run(stack, "CreateViewsFunction", "create_views", event)
    (answer,) = received
    return answer


def test_create_views_creates_every_view_with_its_role(stack: LocalStack) -> None:
    answer = _create_views(stack)
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["Views"].split(",")[0] == "ses_events_unique"
    table = boto3.client("glue").get_table(DatabaseName="seslake", Name="ses_requests")["Table"]
    assert {"Name": "customer_tier", "Type": "string"} in table["StorageDescriptor"]["Columns"]


def test_create_views_without_reading_the_loaded_files_fails(stack: LocalStack) -> None:
    answer = _create_views(stack, lambda r: without(r, "s3:GetObject"))
    assert answer["Status"] == "FAILED"
    assert "AccessDenied" in answer["Reason"]


def test_create_views_without_athena_tells_cloudformation_it_failed(stack: LocalStack) -> None:
    answer = _create_views(stack, lambda r: without(r, "athena:StartQueryExecution"))
    assert answer["Status"] == "FAILED"
    assert "AccessDenied" in answer["Reason"]


# compact ---------------------------------------------------------------------------------


def _two_files_per_partition(stack: LocalStack) -> None:
    """The same SQS batch ingested twice under other message ids: two files, duplicates."""
    lake = open_lake(f"s3://{stack.physical['LakeBucket']}/lake", boto3.client("s3"))
    event = load_event("ingest_sns/sqs-sns-wrapped.json")
    again = copy.deepcopy(event)
    for record in again["Records"]:
        record["messageId"] += "-again"
    ingest_lambda_event(event, lake)
    ingest_lambda_event(again, lake)


def test_compact_merges_partitions_with_its_role(stack: LocalStack) -> None:
    _two_files_per_partition(stack)
    before = keys(stack, "lake/ses_events/")
    with function_role(stack, "CompactFunction"):
        summary = run(stack, "CompactFunction", "compact", load_event("compact/scheduled.json"))
    assert summary["partitions"] == 2 and summary["duplicates"] > 0
    after = keys(stack, "lake/ses_events/")
    assert len(after) == 2 and not set(after) & set(before)
    assert all(Path(k).name.startswith("compacted-") for k in after)


def test_compact_without_delete_object_fails_and_keeps_every_file(stack: LocalStack) -> None:
    _two_files_per_partition(stack)
    before = keys(stack, "lake/ses_events/")

    def read_write_only(role: dict[str, Any]) -> None:
        for policy in role["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "s3:DeleteObject" in statement.get("Action", []):
                    statement["Action"] = [a for a in statement["Action"] if a != "s3:DeleteObject"]

    with (
        function_role(stack, "CompactFunction", read_write_only),
        pytest.raises(CompactionError, match=r"2 partition\(s\) not compacted"),
    ):
        run(stack, "CompactFunction", "compact", load_event("compact/scheduled.json"))
    assert set(before) <= set(keys(stack, "lake/ses_events/"))  # nothing lost
