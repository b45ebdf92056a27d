"""Compaction against moto S3: no row lost, duplicates gone, idempotent, safe when interrupted."""

from __future__ import annotations

import io
from typing import Any

import boto3
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from seslake.compaction import COMPACTED, compact_lake
from seslake.ingest import Ingestor
from seslake.lake import S3Lake
from seslake_cli.stack import load_handler
from tests.conftest import load_event
from tests.sql.builder import LakeBuilder

BUCKET = "seslake-compaction"


@pytest.fixture
def lake(moto_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> S3Lake:
    """Three days of events, each record in its own small file, some delivered twice, and
    today's partition (which compaction must leave to ingest)."""
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}/lake")
    builder = LakeBuilder(tmp_path)
    for day in ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-29"):
        for n in range(6):
            message = builder.message(f"{day}-m{n}", [f"r{n}@x.com"], f"{day}T10:0{n}:00Z")
            message.send()
            message.delivery(f"r{n}@x.com", f"{day}T10:0{n}:05Z")
    lake = S3Lake(BUCKET, "lake", client)
    for number, record in enumerate(builder.records + builder.records[::5]):  # 20% twice
        ingestor = Ingestor(lake, now_ms=1_800_000_000_000 + number)
        ingestor.add_payload(orjson.dumps(record), origin=f"sqs:{number}")
        assert ingestor.commit().rows == 1
    return lake


def table_rows(lake: S3Lake, day: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for key, _ in lake.list_keys("ses_events/"):
        if day is None or f"dt={day}/" in key:
            rows += pq.read_table(io.BytesIO(lake.get_bytes(key))).to_pylist()
    return rows


def files(lake: S3Lake) -> list[str]:
    return [key for key, _ in lake.list_keys("ses_events/")]


def test_compaction_keeps_every_event_once(lake: S3Lake) -> None:
    before = table_rows(lake)
    unique_before = {r["event_id"] for r in before}
    today = [k for k in files(lake) if "dt=2026-11-29/" in k]

    stats = compact_lake(lake, before="2026-11-29")

    after = table_rows(lake)
    assert sorted(r["event_id"] for r in after if r["sent_at"].day != 29) == sorted(
        {r["event_id"] for r in before if r["sent_at"].day != 29}
    )
    assert {r["event_id"] for r in after} == unique_before
    assert stats.partitions == 6  # 3 days x (send, delivery)
    assert stats.rows_in - stats.rows_out == stats.duplicates > 0
    old = [k for k in files(lake) if "dt=2026-11-29/" not in k]
    assert len(old) == 6 and all(k.rsplit("/", 1)[1].startswith(COMPACTED) for k in old)
    assert [k for k in files(lake) if "dt=2026-11-29/" in k] == today  # today untouched
    for key in old:  # each partition's rows in event_at order
        times = pq.read_table(io.BytesIO(lake.get_bytes(key))).column("event_at").to_pylist()
        assert times == sorted(times) and len(times) == 6


@pytest.mark.parametrize("one_file_per_bucket", [True, False])
def test_busy_partitions_are_split_into_buckets_without_duplicates(
    lake: S3Lake, one_file_per_bucket: bool
) -> None:
    """Small buckets: several per partition, each a sorted row group, no event twice; files
    close when they reach the target size (here: after every bucket, or never)."""
    unique_before = {r["event_id"] for r in table_rows(lake)}
    past = [r for r in table_rows(lake) if r["sent_at"].day != 29]
    duplicated = len(past) - len({r["event_id"] for r in past})
    target = 1 if one_file_per_bucket else 1 << 30

    stats = compact_lake(lake, before="2026-11-29", target_bytes=target, bucket_bytes=20_000)

    assert stats.partitions == 6
    if one_file_per_bucket:
        assert stats.files_out > stats.partitions
    else:
        assert stats.files_out == stats.partitions
    assert stats.duplicates == duplicated > 0
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        rows = table_rows(lake, day)
        assert len(rows) == len({r["event_id"] for r in rows}) == 12  # 6 sends, 6 deliveries
    assert {r["event_id"] for r in table_rows(lake)} == unique_before
    groups = 0
    for key in files(lake):
        if "dt=2026-11-29/" not in key:
            parquet = pq.ParquetFile(io.BytesIO(lake.get_bytes(key)))
            for number in range(parquet.num_row_groups):
                times = parquet.read_row_group(number, columns=["event_at"]).column(0)
                assert times.to_pylist() == sorted(times.to_pylist())
                groups += 1
    assert groups > stats.partitions  # several buckets per partition


def test_compaction_twice_changes_nothing(lake: S3Lake) -> None:
    compact_lake(lake, before="2026-11-29")
    listing = lake.list_keys("ses_events/")
    again = compact_lake(lake, before="2026-11-29")
    assert again.partitions == 0
    assert lake.list_keys("ses_events/") == listing


def test_interrupted_before_deleting_loses_nothing_and_finishes_next_time(lake: S3Lake) -> None:
    unique_before = {r["event_id"] for r in table_rows(lake)}

    def crash(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "crash"}}, "DeleteObjects")

    lake.client.meta.events.register("before-call.s3.DeleteObjects", crash)
    with pytest.raises(ClientError):
        compact_lake(lake, before="2026-11-29")
    lake.client.meta.events.unregister("before-call.s3.DeleteObjects", crash)

    # inputs and new files side by side: every event present, some twice
    assert {r["event_id"] for r in table_rows(lake)} == unique_before
    assert any(k.rsplit("/", 1)[1].startswith(COMPACTED) for k in files(lake))

    compact_lake(lake, before="2026-11-29")
    after = table_rows(lake)
    old = [r for r in after if r["sent_at"].day != 29]
    assert len(old) == len({r["event_id"] for r in old})  # no duplicate left
    assert {r["event_id"] for r in after} == unique_before


def test_interrupted_while_writing_keeps_the_inputs(lake: S3Lake) -> None:
    listing = files(lake)
    calls = {"n": 0}

    def fail_second_put(params: dict[str, Any], **_: Any) -> None:
        if COMPACTED in params.get("Key", ""):
            calls["n"] += 1
            if calls["n"] == 2:
                raise ClientError({"Error": {"Code": "SlowDown", "Message": "x"}}, "PutObject")

    failures: dict[str, Exception] = {}
    lake.client.meta.events.register("before-parameter-build.s3.PutObject", fail_second_put)
    stats = compact_lake(
        lake, before="2026-11-29", target_bytes=1, bucket_bytes=1, on_failure=failures.__setitem__
    )  # many files
    lake.client.meta.events.unregister("before-parameter-build.s3.PutObject", fail_second_put)
    ((prefix, error),) = failures.items()
    assert "SlowDown" in str(error) and stats.partitions_failed == 1
    failed_inputs = {k for k in listing if k.startswith(prefix)}
    assert failed_inputs and failed_inputs <= set(files(lake))  # no input of it was deleted
    assert stats.partitions == 5  # the five other partitions (2 types x 3 days) were compacted


def test_compact_handler_on_a_schedule(lake: S3Lake, lambda_context: Any) -> None:
    handler = load_handler("compact")
    event = load_event("compact/scheduled.json")
    event["before"] = "2026-11-03"
    result = handler.lambda_handler(event, lambda_context)
    assert result["before"] == "2026-11-03"
    assert result["partitions"] == 4  # 2026-11-01 and 02, send and delivery
    assert result["rows_in"] - result["rows_out"] == result["duplicates"]


def test_unique_keeps_the_first_ingested_copy_in_event_time_order() -> None:
    from datetime import datetime

    import pyarrow as pa

    from seslake.compaction import _unique

    def at(minute: int) -> datetime:
        return datetime(2026, 11, 1, 10, minute)

    table = pa.table(
        {
            "event_id": ["b", "a", "b", "c", "a", "b"],
            "ingested_at": [at(5), at(9), at(1), at(0), at(2), at(1)],
            "ingest_source": ["sqs:2", "sqs:1", "sqs:9", "sqs:3", "sqs:0", "sqs:1"],
            "event_at": [at(30), at(20), at(30), at(20), at(20), at(30)],
        }
    )
    kept = _unique(table).to_pylist()
    # a: ingested at :02 wins over :09; b: two copies at :01, sqs:1 sorts before sqs:9;
    # rows by event_at, then event_id (a and c share 10:20).
    assert [(r["event_id"], r["ingest_source"]) for r in kept] == [
        ("a", "sqs:0"),
        ("c", "sqs:3"),
        ("b", "sqs:1"),
    ]


def _first_partition(lake: S3Lake) -> str:
    return files(lake)[0].rsplit("/", 1)[0] + "/"


def test_files_of_an_older_schema_are_read_with_new_columns_null(lake: S3Lake) -> None:
    prefix = _first_partition(lake)
    key = next(k for k in files(lake) if k.startswith(prefix))
    old = pq.read_table(io.BytesIO(lake.get_bytes(key))).drop_columns(["is_opt_out", "raw"])
    spool = io.BytesIO()
    pq.write_table(old, spool)
    lake.put_file(key, spool)  # as a version from before these columns existed wrote it
    ids = {r["event_id"] for k in files(lake) if k.startswith(prefix) for r in _rows(lake, k)}

    stats = compact_lake(lake, before="2026-11-29")

    assert stats.partitions_failed == 0 and stats.partitions == 6
    rows = [r for k in files(lake) if k.startswith(prefix) for r in _rows(lake, k)]
    assert {r["event_id"] for r in rows} == ids and len(rows) == len(ids)
    assert any(r["raw"] is None for r in rows)  # the old file's rows, kept, new columns NULL


def _rows(lake: S3Lake, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(lake.get_bytes(key))).to_pylist()
    return rows


def test_an_unreadable_file_is_set_aside_and_every_other_partition_compacted(
    lake: S3Lake,
) -> None:
    prefix = _first_partition(lake)  # sorted first: every other partition comes after it
    lake.put_file(f"{prefix}part-damaged.parquet", io.BytesIO(b"PAR1 this is not parquet PAR1"))

    stats = compact_lake(lake, before="2026-11-29")

    assert stats.files_set_aside == 1 and stats.partitions_failed == 0
    assert stats.partitions == 6  # the damaged one included, with its readable files
    assert [k for k, _ in lake.list_keys("corrupt/")] == [f"corrupt/{prefix}part-damaged.parquet"]
    assert not any("damaged" in k for k in files(lake))


def test_two_runs_outputs_or_a_lone_ingest_file_with_duplicates_are_compacted(
    lake: S3Lake,
) -> None:
    compact_lake(lake, before="2026-11-29")
    prefix = _first_partition(lake)
    (compacted,) = [k for k in files(lake) if k.startswith(prefix)]
    # a run whose delete of the older output failed: two runs' outputs sharing every row
    lake.put_file(
        f"{prefix}{COMPACTED}0123456789abcdef0123-000.parquet",
        io.BytesIO(lake.get_bytes(compacted)),
    )
    stats = compact_lake(lake, before="2026-11-29")
    assert stats.partitions == 1 and stats.duplicates == len(_rows(lake, files(lake)[0]))
    # and a lone ingest file holding an event twice
    (only,) = [k for k in files(lake) if k.startswith(prefix)]
    table = pq.read_table(io.BytesIO(lake.get_bytes(only)))
    doubled = io.BytesIO()
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), doubled)
    lake.delete([only])
    lake.put_file(f"{prefix}part-0123456789abcdef01234567.parquet", doubled)
    stats = compact_lake(lake, before="2026-11-29")
    assert stats.partitions == 1 and stats.duplicates == 1
    assert compact_lake(lake, before="2026-11-29").partitions == 0  # and then it is done
