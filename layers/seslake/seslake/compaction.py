"""Compaction: the many small files ingest writes, merged into few large ones per partition.

Each (event_type, dt) partition of a past day that holds more than one file is read whole,
duplicates by event_id are dropped (the first ingested copy is kept, as ses_events_unique
does), and the rows are written back sorted by event_at in files of about `target_bytes`.
Never losing a row is the point, so the order is fixed:

1. the new files are written under names derived from the input files (a rerun after a crash
   writes the same names again);
2. they are read back and verified: the same set of event_ids as the inputs, one row each;
3. only then are the input files deleted.

A crash before 3 leaves the inputs and the new files side by side: every row is there, some
twice, which ses_events_unique absorbs; the next run takes both in and finishes the job. A
partition whose files are all compaction outputs is left alone, so running twice changes
nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import SeslakeError
from .lake import Lake
from .schema import EVENT_SCHEMA, EVENTS_TABLE

TARGET_BYTES = 128 * 1024 * 1024
COMPACTED = "compacted-"
_PARTITION = re.compile(rf"^{EVENTS_TABLE}/event_type=([^/]+)/dt=(\d{{4}}-\d{{2}}-\d{{2}})/[^/]+$")


class CompactionError(SeslakeError):
    """The rewritten files did not hold exactly the input rows: the inputs were kept."""


@dataclass
class CompactionStats:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows_in: int = 0
    rows_out: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "partitions": self.partitions,
            "files_in": self.files_in,
            "files_out": self.files_out,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "duplicates": self.duplicates,
        }


def partitions(lake: Lake, before: str) -> dict[str, list[tuple[str, int]]]:
    """Parquet files of each partition whose day is before `before` (YYYY-MM-DD), by prefix."""
    found: dict[str, list[tuple[str, int]]] = {}
    for key, size in lake.list_keys(f"{EVENTS_TABLE}/"):
        match = _PARTITION.match(key)
        if match is None or not key.endswith(".parquet") or match.group(2) >= before:
            continue
        found.setdefault(key.rsplit("/", 1)[0] + "/", []).append((key, size))
    return found


def needs_compaction(files: list[tuple[str, int]]) -> bool:
    """More than one file, and at least one not already a compaction output."""
    return len(files) > 1 and any(
        not key.rsplit("/", 1)[1].startswith(COMPACTED) for key, _ in files
    )


def _read(lake: Lake, keys: Iterable[str]) -> pa.Table:
    tables = []
    for key in keys:
        table = pq.read_table(io.BytesIO(lake.get_bytes(key)))
        tables.append(table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA))
    return pa.concat_tables(tables)


def _unique(table: pa.Table) -> pa.Table:
    """One row per event_id: the first ingested copy; rows in event_at order."""
    ordered = table.sort_by(
        [("event_id", "ascending"), ("ingested_at", "ascending"), ("ingest_source", "ascending")]
    )
    ids = ordered.column("event_id").combine_chunks()
    if len(ids) == 0:
        return ordered
    previous = pa.concat_arrays([pa.array([None], pa.string()), ids.slice(0, len(ids) - 1)])
    first = pc.fill_null(pc.not_equal(ids, previous), True)
    return ordered.filter(first).sort_by([("event_at", "ascending"), ("event_id", "ascending")])


def compact_partition(
    lake: Lake, prefix: str, files: list[tuple[str, int]], target_bytes: int = TARGET_BYTES
) -> CompactionStats:
    """Rewrite one partition's files (see the module docstring for the order of operations)."""
    stats = CompactionStats(partitions=1, files_in=len(files))
    keys = [key for key, _ in files]
    table = _read(lake, keys)
    unique = _unique(table)
    stats.rows_in, stats.rows_out = table.num_rows, unique.num_rows
    stats.duplicates = table.num_rows - unique.num_rows
    total = sum(size for _, size in files)
    pieces = max(1, -(-total // target_bytes))
    per_file = max(1, -(-unique.num_rows // pieces))
    digest = hashlib.blake2b("\n".join(keys).encode(), digest_size=10).hexdigest()
    written = []
    for number, start in enumerate(range(0, max(unique.num_rows, 1), per_file)):
        part = unique.slice(start, per_file)
        key = f"{prefix}{COMPACTED}{digest}-{number:03d}.parquet"
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            pq.write_table(part, spool, compression="zstd", row_group_size=256 * 1024)
            lake.put_file(key, spool)
        written.append(key)
    check = _read(lake, written)
    expected = pc.unique(table.column("event_id")).sort()
    got_ids = check.column("event_id")
    if check.num_rows != unique.num_rows or not pc.unique(got_ids).sort().equals(expected):
        raise CompactionError(
            f"{prefix}: rewritten files hold {check.num_rows} rows, expected {unique.num_rows} "
            "unique events; the input files were kept"
        )
    stats.files_out = len(written)
    lake.delete([k for k in keys if k not in written])
    return stats


def compact_lake(
    lake: Lake,
    before: str,
    target_bytes: int = TARGET_BYTES,
    on_partition: Callable[[str, CompactionStats], None] | None = None,
) -> CompactionStats:
    """Compact every partition of a day before `before` that has more than one file."""
    total = CompactionStats()
    for prefix, files in sorted(partitions(lake, before).items()):
        if not needs_compaction(files):
            continue
        done = compact_partition(lake, prefix, files, target_bytes)
        for name, value in done.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        if on_partition is not None:
            on_partition(prefix, done)
    return total
