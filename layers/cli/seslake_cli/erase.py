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
    lake_keys,
    normalized,
)
from seslake.lake import Lake, LocalLake, open_lake

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


def find(lake: Lake, raw: Lake | None, addresses: frozenset[str]) -> list[tuple[Lake, str]]:
    """Every (store, key) that mentions an address."""
    places = [(lake, key) for key in _parquet_holding(lake, addresses)]
    quarantine = [k for k in lake_keys(lake) if not k.endswith(".parquet")]
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
    name = f"{AUDIT_PREFIX}/{when.replace(':', '')}-{record['address_sha256'][0][:16]}.json"
    with tempfile.TemporaryFile() as handle:
        handle.write(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        lake.put_file(name, handle)
    record["audit_record"] = lake.url(name)
    if remaining:
        left = ", ".join(store.url(key) for store, key in remaining[:5])
        raise QueryError(f"the address is still in {len(remaining)} place(s): {left}")
    return record
