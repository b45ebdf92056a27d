"""Erasure: no trace of the address in any file, object, version, quarantine entry or raw
JSON afterwards; every row of other messages unchanged; other recipients of a message sent
with the address keep their rows, without it."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import orjson
import pyarrow.parquet as pq
import pytest

from seslake.erase import ERASED, erase_object, normalized
from seslake.errors import ChangedError
from seslake.ingest import Ingestor
from seslake.lake import LocalLake, S3Lake
from seslake_cli.commands import main
from seslake_cli.stack import load_handler
from tests.conftest import load_event
from tests.sql.builder import LakeBuilder

GONE = "Erase.Me@Example.com"  # as a person types it: erasure is by the stored, bare form
ADDRESS = "erase.me@example.com"


def build(root: Path) -> tuple[Path, Path, list[dict[str, Any]]]:
    """A lake and a raw folder where the address appears in every place it can."""
    lake = LakeBuilder(root)
    shared = lake.message("m1", ["a@x.com", f"Erase Me <{GONE}>"], "2026-03-01T10:00:00Z")
    records = [shared.send(), shared.delivery("a@x.com", "2026-03-01T10:00:05Z")]
    records.append(shared.delivery(ADDRESS, "2026-03-01T10:00:06Z"))
    records.append(shared.open("2026-03-02T09:00:00Z"))
    alone = lake.message("m2", [ADDRESS], "2026-03-03T10:00:00Z")
    records += [alone.send(), alone.delivery(ADDRESS, "2026-03-03T10:00:02Z")]
    other = lake.message("m3", ["b@x.com"], "2026-03-03T11:00:00Z")
    records += [other.send(), other.delivery("b@x.com", "2026-03-03T11:00:02Z")]
    lake.request("m1", region="eu", recipient=ADDRESS)
    lake.request("m2", region="us", note=f"asked by {GONE}")
    lake.request("m3", region="us")
    folder = lake.write()
    # a payload that is no SES event, quarantined whole, mentioning the address
    ingestor = Ingestor(LocalLake(folder), now_ms=1_800_000_000_000)
    ingestor.add_payload(orjson.dumps({"to": ADDRESS, "what": "not an SES event"}), "bad:1")
    ingestor.commit()
    raw = root / "raw" / "2026" / "03" / "01" / "10"
    raw.mkdir(parents=True)
    lines = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    (raw / "firehose-1.gz").write_bytes(gzip.compress(lines))
    (raw / "firehose-2").write_bytes(orjson.dumps(records[-1]) + b"\n")  # m3 only
    return folder, root / "raw", records


def rows(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.rglob("*.parquet")):
        for row in pq.read_table(path, partitioning=None).to_pylist():
            found.append({"file": path.relative_to(folder).as_posix(), **row})
    return found


def traces(*folders: Path) -> list[str]:
    """Every place the address is still written, read independently of the erase code."""
    left = []
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or "audit" in path.parts:
                continue
            if path.suffix == ".parquet":
                text = orjson.dumps(pq.read_table(path).to_pylist(), default=str)
            else:
                data = path.read_bytes()
                text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            if ADDRESS.encode() in text.lower():
                left.append(str(path))
    return left


def test_erase_leaves_no_trace_and_other_rows_as_they_were(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, raw, _ = build(tmp_path)
    assert len(traces(lake, raw)) >= 6  # events, requests, quarantine, raw: the test can fail
    before = rows(lake)
    assert main(["erase", GONE, "--lake", str(lake), "--raw", str(raw)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert traces(lake, raw) == []
    after = rows(lake)
    # every row of a message that never named the address: unchanged, in the same file
    untouched = [r for r in before if ADDRESS not in orjson.dumps(r, default=str).decode().lower()]
    assert all(r in after for r in untouched)
    # the address's own rows are gone; the other recipient of m1 keeps hers, without it
    assert not [r for r in after if r.get("recipient") == ADDRESS]
    (delivery,) = [
        r
        for r in after
        if r.get("recipient") == "a@x.com"
        and r.get("event_type") is None
        and r.get("smtp_response")
    ]
    assert delivery["destination"] == ["a@x.com"]
    raw_record = json.loads(delivery["raw"])
    assert raw_record["mail"]["destination"] == ["a@x.com"]
    m1_request = [r for r in after if r.get("message_id") == "m1" and "region" in r]
    assert m1_request == []  # its one row was the address's
    (m2_request,) = [r for r in after if r.get("message_id") == "m2" and "region" in r]
    assert m2_request["note"] == ERASED and m2_request["region"] == "us"
    # the audit record: counts and the SHA-256, never the address
    audit = Path(record["audit_record"])
    kept = audit.read_text()
    assert ADDRESS not in kept.lower()
    assert hashlib.sha256(ADDRESS.encode()).hexdigest() in kept
    assert record["remaining"] == 0 and record["rows_removed"] >= 4
    assert record["quarantine_entries_removed"] == 1 and record["raw_records_removed"] == 6
    # the raw object keeps the records that did not mention the address, still gzip
    left = gzip.decompress((raw / "2026/03/01/10/firehose-1.gz").read_bytes()).splitlines()
    assert len(left) == 2 and all(b"m3" in line for line in left)
    assert (raw / "2026/03/01/10/firehose-2").exists()


def test_a_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake, raw, _ = build(tmp_path)
    before = {p: p.read_bytes() for p in [*lake.rglob("*"), *raw.rglob("*")] if p.is_file()}
    assert main(["erase", ADDRESS, "--lake", str(lake), "--raw", str(raw), "--dry-run"]) == 0
    record = json.loads(capsys.readouterr().out)
    after = {p: p.read_bytes() for p in [*lake.rglob("*"), *raw.rglob("*")] if p.is_file()}
    assert after == before
    assert record["dry_run"] and len(record["would_change"]) == record["remaining"] >= 6


def test_a_file_written_meanwhile_is_read_again(tmp_path: Path) -> None:
    """Compaction (or ingest) replaces a file between erasure's read and its write: the write
    is refused, the file read again, and nothing the other writer put there is lost."""
    lake_dir, _, _ = build(tmp_path)
    (key,) = [
        p.relative_to(lake_dir).as_posix()
        for p in lake_dir.rglob("*.parquet")
        if "event_type=send" in str(p) and "2026-03-01" in str(p)
    ]
    spare = tmp_path / "spare.parquet"
    table = pq.read_table(lake_dir / key, partitioning=None)
    extra = table.slice(0, 1).to_pylist()
    extra[0].update(event_id="written-meanwhile", message_id="m9", raw="{}", recipient="z@x.com")
    pq.write_table(table.from_pylist(table.to_pylist() + extra, schema=table.schema), spare)

    class Busy(LocalLake):
        reads = 0

        def read(self, key: str) -> tuple[bytes, str]:
            data, token = super().read(key)
            Busy.reads += 1
            if Busy.reads == 1:  # another writer replaces the file right after this read
                shutil.copy(spare, self.root / key)
            return data, token

    change = erase_object(Busy(lake_dir), key, normalized([ADDRESS]))
    assert Busy.reads == 2 and change.files_rewritten == [key]
    final = pq.read_table(lake_dir / key, partitioning=None).to_pylist()
    assert "written-meanwhile" in {r["event_id"] for r in final}
    assert ADDRESS not in orjson.dumps(final).decode().lower()

    class Endless(LocalLake):
        def read(self, key: str) -> tuple[bytes, str]:
            data, token = super().read(key)
            (self.root / key).write_bytes(data)  # touched every time
            return data, "stale"

    with pytest.raises(ChangedError, match="kept changing"):
        erase_object(Endless(lake_dir), key, normalized(["a@x.com"]))


def test_erase_on_a_versioned_bucket_deletes_the_old_versions(
    tmp_path: Path, moto_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, raw, _ = build(tmp_path)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_bucket_versioning(Bucket="lake", VersioningConfiguration={"Status": "Enabled"})
    for folder, prefix in ((lake, "lake"), (raw, "raw")):
        for path in folder.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "lake", f"{prefix}/{path.relative_to(folder).as_posix()}")
    code = main(["erase", ADDRESS, "--lake", "s3://lake/lake", "--raw", "s3://lake/raw"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    # each rewritten object's old version; a deleted one's too, and the copy its delete checked
    assert record["versions_deleted"] == record["files_rewritten"] + 2 * record["files_deleted"]
    versions = s3.list_object_versions(Bucket="lake")
    for version in versions.get("Versions", []):
        body = s3.get_object(Bucket="lake", Key=version["Key"], VersionId=version["VersionId"])
        data = body["Body"].read()
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if version["Key"].endswith(".parquet"):
            import io

            text = orjson.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str)
        assert ADDRESS.encode() not in text.lower(), version["Key"]
    assert S3Lake("lake", "lake", s3).list_keys("audit/erasure/")


def test_erase_refuses_what_is_not_an_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, _, _ = build(tmp_path)
    assert main(["erase", "not-an-address", "--lake", str(lake)]) == 1
    assert "give email addresses" in capsys.readouterr().err
    assert main(["erase", ADDRESS, "--lake", str(tmp_path / "nope")]) == 1


# --- on a deployed stack: the state machine, its Lambda step, the command -----------------


def erase_machine() -> dict[str, Any]:
    from seslake_cli.stack import load_template

    resource: dict[str, Any] = load_template()["Resources"]["EraseStateMachine"]
    return resource


def test_the_erase_state_machine_rewrites_the_files_found_then_the_raw_objects() -> None:
    from seslake_cli.erase import erase_on_stack

    definition = erase_machine()["Properties"]["Definition"]
    assert definition["StartAt"] == "RewriteFiles"
    files, raw = definition["States"]["RewriteFiles"], definition["States"]["ScrubRaw"]
    assert files["Next"] == "ScrubRaw" and raw["End"]
    assert files["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert files["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert files["ItemReader"]["Parameters"]["Key.$"] == "$.manifest"
    assert raw["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert raw["ItemReader"]["Parameters"]["Prefix.$"] == "$.raw_prefix"
    for state, step in ((files, "EraseBatch"), (raw, "EraseRawBatch")):
        assert state["ToleratedFailurePercentage"] == 0  # an erasure is whole or it failed
        assert state["ItemBatcher"]["BatchInput"] == {"request.$": "$.request"}
        task = state["ItemProcessor"]["States"][step]
        assert task["Parameters"]["FunctionName"] == "${EraseFunction}"
        retried = {error for rule in task["Retry"] for error in rule["ErrorEquals"]}
        assert {"ChangedError", "Lambda.TooManyRequestsException"} <= retried
    # what the command sends is what the maps read, and the address is never in it
    import inspect

    source = inspect.getsource(erase_on_stack)
    assert '"manifest": manifest, "request": request, "raw_prefix": raw_prefix' in source


@pytest.fixture
def deployed(tmp_path: Path, moto_aws: None) -> dict[str, Any]:
    """The stack's bucket holding a lake and raw objects with the address; Glue, Athena's
    workgroup, the state machine and the stack's outputs as the command reads them."""
    lake, raw, _ = build(tmp_path)
    s3 = boto3.client("s3")
    bucket = "seslake-123456789012-us-east-1"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for folder, prefix in ((lake, "lake"), (raw, "raw")):
        for path in folder.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    glue = boto3.client("glue")
    glue.create_database(DatabaseInput={"Name": "seslake"})
    columns = ["message_id", "recipient", "region", "note", "loaded_at", "loaded_from"]
    glue.create_table(
        DatabaseName="seslake",
        TableInput={
            "Name": "ses_requests",
            "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c in columns]},
        },
    )
    boto3.client("athena").create_work_group(Name="seslake-seslake")
    machine = boto3.client("stepfunctions").create_state_machine(
        name="seslake-erase",
        definition=json.dumps(erase_machine()["Properties"]["Definition"]),
        roleArn="arn:aws:iam::123456789012:role/erase",
    )["stateMachineArn"]
    outputs = {
        "EraseStateMachine": machine,
        "LakeBucketName": bucket,
        "LakeUri": f"s3://{bucket}/lake",
        "RawUri": f"s3://{bucket}/raw",
        "GlueDatabase": "seslake",
        "AthenaWorkGroup": "seslake-seslake",
    }
    boto3.client("cloudformation").create_stack(
        StackName="seslake",
        TemplateBody=json.dumps(
            {
                "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {k: {"Value": v} for k, v in outputs.items()},
            }
        ),
    )
    return {"bucket": bucket, "lake": lake, "raw": raw}


def bucket_traces(bucket: str) -> list[str]:
    """Every version of every object that still holds the address."""
    import io

    s3 = boto3.client("s3")
    left = []
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        key = version["Key"]
        if key.startswith("lake/audit/"):
            continue
        data = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
        if key.endswith(".parquet"):
            text = orjson.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str)
        else:
            text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if ADDRESS.encode() in text.lower():
            left.append(key)
    return left


def test_erase_on_a_stack_finds_with_athena_and_rewrites_with_the_state_machine(
    deployed: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto runs neither Athena's SQL nor Step Functions' maps: the test queues what Athena
    finds (the files holding the address, then none), and plays the maps: the manifest and the
    raw listing, in batches, through the real erase function."""
    from moto.athena.models import QueryResults, athena_backends
    from moto.stepfunctions.models import stepfunctions_backends

    from seslake_cli import erase as erase_module

    bucket = deployed["bucket"]
    s3 = boto3.client("s3")
    holding = [
        f"s3://{bucket}/lake/{p.relative_to(deployed['lake']).as_posix()}"
        for p in deployed["lake"].rglob("*.parquet")
        if ADDRESS.encode() in orjson.dumps(pq.read_table(p).to_pylist(), default=str).lower()
    ]
    assert holding and bucket_traces(bucket)
    queue = athena_backends["123456789012"]["us-east-1"].query_results_queue
    header = {"Data": [{"VarCharValue": "path"}]}
    info = [{"Name": "path", "Type": "varchar"}]
    found = [{"Data": [{"VarCharValue": p}]} for p in holding]
    queue.append(QueryResults(rows=[header, *found], column_info=info))
    queue.append(QueryResults(rows=[header], column_info=info))  # the search again: nothing
    monkeypatch.setenv("LAKE_BUCKET", bucket)
    handler = load_handler("erase")

    def the_maps_run(seconds: float) -> None:
        backend = stepfunctions_backends["123456789012"]["us-east-1"]
        (execution,) = [e for m in backend.state_machines for e in m.executions]
        run_input = json.loads(execution.execution_input)
        manifest = json.loads(
            s3.get_object(Bucket=bucket, Key=run_input["manifest"])["Body"].read()
        )
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=run_input["raw_prefix"])["Contents"]
        batch_input = {"request": run_input["request"]}
        for items in (manifest, [{"Key": o["Key"]} for o in listed]):
            for start in range(0, len(items), 10):
                batch = {"Items": items[start : start + 10], "BatchInput": batch_input}
                handler.lambda_handler(batch, lambda_context)
        execution.status = "SUCCEEDED"
        assert ADDRESS not in execution.execution_input.lower()  # never in the history

    record = erase_module.erase_on_stack([GONE], "seslake", sleep=the_maps_run)
    assert record["remaining"] == 0 and record["files_searched_by_athena"] == len(holding)
    assert bucket_traces(bucket) == []
    requests = s3.list_object_versions(Bucket=bucket, Prefix="erase-requests/")
    names_the_address = [
        v for v in requests.get("Versions", []) if not v["Key"].endswith("manifest.json")
    ]
    assert names_the_address == []  # the request object is gone, every version of it
    (audit,) = s3.list_objects_v2(Bucket=bucket, Prefix="lake/audit/erasure/")["Contents"]
    kept = s3.get_object(Bucket=bucket, Key=audit["Key"])["Body"].read().decode()
    assert ADDRESS not in kept.lower() and hashlib.sha256(ADDRESS.encode()).hexdigest() in kept
    # a raw object the erasure rewrote is marked, and ingest_s3 does not ingest it again
    rewritten = "raw/2026/03/01/10/firehose-1.gz"
    head = s3.head_object(Bucket=bucket, Key=rewritten)
    assert head["Metadata"] == {"seslake-rewritten": "erase"}
    event = load_event("ingest_s3/s3-object-created.json")
    event["Records"][0]["s3"]["bucket"]["name"] = bucket
    event["Records"][0]["s3"]["object"].update(
        {"key": rewritten, "eTag": head["ETag"].strip('"'), "versionId": head["VersionId"]}
    )
    monkeypatch.setenv("LAKE_URI", f"s3://{bucket}/lake")
    before = s3.list_objects_v2(Bucket=bucket, Prefix="lake/ses_events/")["KeyCount"]
    (result,) = load_handler("ingest_s3").lambda_handler(event, lambda_context)["objects"]
    assert result["rows"] == 0
    assert s3.list_objects_v2(Bucket=bucket, Prefix="lake/ses_events/")["KeyCount"] == before
