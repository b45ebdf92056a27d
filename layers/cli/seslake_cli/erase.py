"""`seslake erase`: one person's address out of every file and object of the lake, proven gone.

Locally (a lake folder or an s3:// lake, moto included) the files holding the address are
found (Parquet files with DuckDB's `filename`, quarantine files and raw objects by reading them),
each is rewritten by the core's `erase.erase_object`, and the same search runs again: an
erasure that leaves anything behind fails. An audit record (when, what changed, the address's
SHA-256, never the address) is written under `audit/erasure/` of the lake.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from seslake.erase import (
    TABLES,
    Erased,
    audit_record,
    erase_object,
    holding,
    normalized,
)
from seslake.lake import Lake, LocalLake, open_lake
from seslake.writer import QUARANTINE_PREFIX

from .errors import QueryError

AUDIT_PREFIX = "audit/erasure"


def _parquet_holding(lake: Lake, addresses: frozenset[str]) -> list[str]:
    """The Parquet files of both tables that mention an address, found by DuckDB (its
    `filename` column) over a local folder, or over a copy of an S3 lake's files."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="seslake-erase-") as scratch:
        if isinstance(lake, LocalLake):
            root = lake.root
        else:
            root = Path(scratch)
            for prefix in TABLES:
                for key, _ in lake.list_keys(prefix):
                    if key.endswith(".parquet"):
                        target = root / key
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(lake.get_bytes(key))
        found: set[str] = set()
        connection = duckdb.connect(":memory:")
        for prefix in TABLES:
            files = sorted((root / prefix).rglob("*.parquet")) if (root / prefix).is_dir() else []
            if not files:
                continue
            listed = (
                "[" + ", ".join("'" + f.as_posix().replace("'", "''") + "'" for f in files) + "]"
            )
            # Every column of a row as one text (lists, maps and raw JSON included), lowercased.
            sql = (
                f"select distinct filename from read_parquet({listed}, union_by_name = true, "
                "filename = true, hive_partitioning = false) as t "
                "where " + " or ".join("contains(lower(cast(t as varchar)), ?)" for _ in addresses)
            )
            try:
                rows = connection.execute(sql, sorted(addresses)).fetchall()
            except duckdb.Error as error:
                raise QueryError(f"cannot search {lake.uri}: {error}") from error
            found |= {Path(row[0]).relative_to(root).as_posix() for row in rows}
        return sorted(found)


def _write_audit(lake: Lake, record: dict[str, Any], when: str) -> None:
    """The audit record under audit/erasure/ of the lake; its location added to it."""
    name = f"{AUDIT_PREFIX}/{when.replace(':', '')}-{record['address_sha256'][0][:16]}.json"
    with tempfile.TemporaryFile() as handle:
        handle.write(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        lake.put_file(name, handle)
    record["audit_record"] = lake.url(name)


def find(lake: Lake, raw: Lake | None, addresses: frozenset[str]) -> list[tuple[Lake, str]]:
    """Every (store, key) that mentions an address."""
    places = [(lake, key) for key in _parquet_holding(lake, addresses)]
    quarantine = [key for key, _ in lake.list_keys(QUARANTINE_PREFIX + "/")]
    places += [(lake, key) for key in holding(lake, quarantine, addresses)]
    if raw is not None:
        raw_keys = [key for key, _ in raw.list_keys("")]
        places += [(raw, key) for key in holding(raw, raw_keys, addresses)]
    return places


def erase(
    addresses: list[str],
    lake_uri: str,
    raw_uri: str | None = None,
    dry_run: bool = False,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Erase the addresses; the audit record (also written to the lake unless a dry run)."""
    wanted = normalized(addresses)
    lake = open_lake(lake_uri)
    raw = open_lake(raw_uri) if raw_uri else None
    places = find(lake, raw, wanted)
    total = Erased()
    for store, key in places:
        total.add(erase_object(store, key, wanted, dry_run=dry_run))
        if on_file is not None:
            on_file(store.url(key))
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if dry_run:
        record = audit_record(wanted, total, remaining=len(places), when=when)
        record["dry_run"] = True
        record["would_change"] = [store.url(key) for store, key in places]
        return record
    remaining = find(lake, raw, wanted)  # the proof: the same search finds nothing
    record = audit_record(wanted, total, remaining=len(remaining), when=when)
    _write_audit(lake, record, when)
    if remaining:
        left = ", ".join(store.url(key) for store, key in remaining[:5])
        raise QueryError(f"the address is still in {len(remaining)} place(s): {left}")
    return record


def search_sql(addresses: frozenset[str], request_columns: list[str]) -> str:
    """Athena SQL listing the files (`"$path"`) of both tables that mention an address: every
    text column of ses_requests, and ses_events' `raw` (the whole SES record) and `recipient`."""
    from .questions import quote

    def any_of(column: str) -> str:
        return " or ".join(f"strpos(lower({column}), {quote(a)}) > 0" for a in sorted(addresses))

    texts = " || ' ' || ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in request_columns)
    return (
        f'select distinct "$path" as path from ses_events where {any_of("raw")} '
        f"or {any_of('recipient')} "
        f'union select distinct "$path" as path from ses_requests where {any_of(f"({texts})")}'
    )


def erase_on_stack(
    addresses: list[str],
    stack: str,
    session: Any = None,
    sleep: Callable[[float], None] | None = None,
    on_progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, Any]:
    """Erase on a deployed stack: Athena finds the files (`"$path"`), the EraseStateMachine
    rewrites them and the raw objects, Athena searches again, and the audit record is written."""
    import time
    import uuid

    import boto3

    from seslake.lake import S3Lake
    from seslake.schema import REQUESTS_TABLE

    from .backfill import follow
    from .engines.athena import AthenaEngine, stack_outputs

    wanted = normalized(addresses)
    outputs = stack_outputs(stack, session)
    missing = [
        k
        for k in ("EraseStateMachine", "LakeBucketName", "LakeUri", "RawUri", "GlueDatabase")
        if k not in outputs
    ]
    if missing:
        raise QueryError(f"stack {stack} has no output {', '.join(missing)}")
    bucket = outputs["LakeBucketName"]
    s3 = (session or boto3.Session()).client("s3")
    whole = S3Lake(bucket, "", s3)
    lake_prefix = outputs["LakeUri"][len(f"s3://{bucket}/") :].strip("/")
    raw_prefix = outputs["RawUri"][len(f"s3://{bucket}/") :].strip("/") + "/"
    engine = AthenaEngine(outputs["GlueDatabase"], outputs["AthenaWorkGroup"], session)
    sql = search_sql(wanted, engine.columns(REQUESTS_TABLE))
    found = [str(p) for p in engine.query(sql).column("path").to_pylist()]
    keys = [p[len(f"s3://{bucket}/") :] for p in found]
    keys += [key for key, _ in whole.list_keys(f"{lake_prefix}/{QUARANTINE_PREFIX}/")]
    run = uuid.uuid4().hex
    request, manifest = f"erase-requests/{run}.json", f"erase-requests/{run}-manifest.json"
    with tempfile.TemporaryFile() as handle:
        handle.write(orjson.dumps({"addresses": sorted(wanted)}))
        whole.put_file(request, handle)
    with tempfile.TemporaryFile() as handle:
        handle.write(orjson.dumps([{"key": key} for key in keys]))
        whole.put_file(manifest, handle)
    client = (session or boto3.Session()).client("stepfunctions")
    started = client.start_execution(
        stateMachineArn=outputs["EraseStateMachine"],
        input=orjson.dumps(
            {"manifest": manifest, "request": request, "raw_prefix": raw_prefix}
        ).decode(),
    )
    arn = str(started["executionArn"])
    try:
        statuses = follow(
            [arn], on_progress or (lambda counts: None), session, sleep=sleep or time.sleep
        )
    finally:
        whole.delete([request])  # the only object naming the addresses, with its versions
        whole.drop_old_versions(request)
    if statuses[arn] != "SUCCEEDED":
        raise QueryError(f"the erasure {arn} ended {statuses[arn]}: see its execution history")
    remaining = engine.query(sql).num_rows  # the proof: Athena finds no file holding it
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    change = Erased(files_rewritten=keys)
    record = audit_record(wanted, change, remaining=remaining, when=when)
    record["files_searched_by_athena"] = len(found)
    record["execution"] = arn
    _write_audit(S3Lake(bucket, lake_prefix, s3), record, when)
    if remaining:
        raise QueryError(f"Athena still finds the address in {remaining} file(s)")
    return record
