"""Compaction: the many small files ingest writes, merged into few large ones per partition.

Each (event_type, dt) partition of a past day that holds more than one file is rewritten:
duplicates by event_id are dropped (the first ingested copy is kept, as ses_events_unique
does) and the rows are written back in files of about `target_bytes`. Memory stays bounded
however busy the day: the input files are read one at a time and their rows spread over
buckets by event_id (LZ4 Arrow IPC temporary files), one bucket per `bucket_bytes` of Parquet
input; each bucket in turn is deduplicated, sorted by event_at and appended to the output file
as its own row group. Copies of an event share a bucket, so no duplicate survives.

Never losing a row is the point, so the order is fixed:

1. the new files are written under names derived from the input files (a rerun after a crash
   writes the same names again);
2. each is read back and verified: the same set of event_ids as the buckets written into
   it, one row each, and the buckets together hold every input row;
3. only then are the input files deleted.

A crash before 3 leaves the inputs and the new files side by side: every row is there, some
twice, which ses_events_unique absorbs; the next run takes both in and finishes the job (a
partition is compacted while it holds an ingest file or the outputs of more than one run). A
partition holding only the outputs of one run is left alone, so running twice changes nothing.

Files written by an older version (columns added since) are read with the new columns NULL. A
file that cannot be read as Parquet is moved out of the table to `corrupt/<its key>`, where
Athena no longer trips on it, and counted; a partition that fails for any reason is reported
and the others are still compacted.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from .errors import CompactionError, LakeWriteError, UnreadableFileError
from .lake import Lake
from .schema import EVENT_SCHEMA, EVENTS_TABLE

#: Size of the output files (compressed Parquet).
TARGET_BYTES = 128 * 1024 * 1024
#: Parquet input per bucket, what is held in memory at once. Decompressed, rows can take 20
#: times their Parquet size (the raw record dominates; the benchmark's synthetic events do),
#: and sorting copies them once: 16 MB stays well inside a 3 GB function.
BUCKET_BYTES = 16 * 1024 * 1024
#: One temporary file each, open together: Lambda allows 1,024 descriptors. Past 8 GB of
#: Parquet in one partition, buckets grow beyond `BUCKET_BYTES` instead.
MAX_BUCKETS = 512
#: Buckets are chosen by the first three hex digits of the event_id (a hex digest).
_HEX_PREFIXES = pa.array([f"{i:03x}" for i in range(4096)])
_IPC_OPTIONS = ipc.IpcWriteOptions(compression="lz4")
_TAKE_ROWS = 32_768
COMPACTED = "compacted-"
#: Where unreadable files are moved, keys kept (under the lake, beside the table).
CORRUPT_PREFIX = "corrupt/"
_RUN = re.compile(rf"^{COMPACTED}([0-9a-f]+)-\d+\.parquet$")
_PARTITION = re.compile(rf"^{EVENTS_TABLE}/event_type=([^/]+)/dt=(\d{{4}}-\d{{2}}-\d{{2}})/[^/]+$")


@dataclass
class CompactionStats:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows_in: int = 0
    rows_out: int = 0
    duplicates: int = 0
    files_set_aside: int = 0  # unreadable files moved under corrupt/
    partitions_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


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
    """Whether a partition holds anything but the outputs of one compaction run: an ingest
    file (it may hold an event twice, even alone), or the outputs of two runs (one whose
    deletes failed half way leaves both, sharing rows)."""
    runs = set()
    for key, _ in files:
        match = _RUN.match(key.rsplit("/", 1)[1])
        if match is None:
            return True
        runs.add(match.group(1))
    return len(runs) > 1


def _read(lake: Lake, key: str) -> pa.Table:
    """A file's rows in the table's schema; columns added since it was written are NULL."""
    try:
        table = pq.read_table(io.BytesIO(lake.get_bytes(key)))
    except (pa.ArrowException, OSError) as error:
        raise UnreadableFileError(f"{key}: {error}") from error
    unknown = [n for n in table.column_names if n not in EVENT_SCHEMA.names]
    if unknown:  # written by a newer version: compacting here would drop them
        raise CompactionError(f"{key}: columns this version does not know: {', '.join(unknown)}")
    for field in EVENT_SCHEMA:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def _unique(table: pa.Table) -> pa.Table:
    """One row per event_id: the first ingested copy; rows in event_at order.

    The order is worked out on the key columns and row numbers alone, so the rows themselves
    (the raw record is most of their bytes) are copied once, by the final take."""
    keys = table.select(["event_id", "ingested_at", "ingest_source"]).append_column(
        "row", pa.array(range(table.num_rows), pa.int64())
    )
    keys = keys.sort_by(
        [("event_id", "ascending"), ("ingested_at", "ascending"), ("ingest_source", "ascending")]
    )
    ids = keys.column("event_id").combine_chunks()
    if len(ids) == 0:
        return table
    previous = pa.concat_arrays([pa.array([None], pa.string()), ids.slice(0, len(ids) - 1)])
    first = keys.filter(pc.fill_null(pc.not_equal(ids, previous), True))
    rows = first.column("row")
    by_time = pa.table({"at": table.column("event_at").take(rows), "id": first.column("event_id")})
    order = rows.take(pc.sort_indices(by_time, [("at", "ascending"), ("id", "ascending")]))
    # Taken a slice at a time: one take of a whole string column reserves room as it grows.
    return pa.concat_tables(
        [table.take(order.slice(start, _TAKE_ROWS)) for start in range(0, len(order), _TAKE_ROWS)]
    )


class _Buckets:
    """Rows spread over `count` temporary files by event_id; every copy of an event together."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._of_prefix = pa.array([i % count for i in range(4096)], pa.int32())
        self._files = [tempfile.TemporaryFile() for _ in range(count)]  # noqa: SIM115
        self._writers = [ipc.new_stream(f, EVENT_SCHEMA, options=_IPC_OPTIONS) for f in self._files]

    def add(self, table: pa.Table) -> None:
        if self.count == 1:
            self._writers[0].write_table(table)
            return
        prefix = pc.index_in(pc.utf8_slice_codeunits(table.column("event_id"), 0, 3), _HEX_PREFIXES)
        bucket = pc.take(self._of_prefix, pc.fill_null(prefix, 0))
        order = pc.sort_indices(bucket)  # rows grouped by bucket: one slice per bucket present
        table, bucket = table.take(order), bucket.take(order)
        start = 0
        for item in sorted(pc.value_counts(bucket).to_pylist(), key=lambda v: v["values"]):
            self._writers[item["values"]].write_table(table.slice(start, item["counts"]))
            start += item["counts"]

    def read(self, number: int) -> pa.Table:
        """The bucket's rows in one chunk per column: taking rows from many chunks would first
        concatenate them, a third copy of the bucket at the peak."""
        self._writers[number].close()
        self._files[number].seek(0)
        table = ipc.open_stream(self._files[number]).read_all().combine_chunks()
        self._files[number].close()
        return table

    def close(self) -> None:
        for file in self._files:
            file.close()


def compact_partition(
    lake: Lake,
    prefix: str,
    files: list[tuple[str, int]],
    target_bytes: int = TARGET_BYTES,
    bucket_bytes: int = BUCKET_BYTES,
) -> CompactionStats:
    """Rewrite one partition's files (see the module docstring for the order of operations)."""
    stats = CompactionStats(partitions=1, files_in=len(files))
    keys = [key for key, _ in files]
    total = sum(size for _, size in files)
    buckets = _Buckets(min(MAX_BUCKETS, max(1, -(-total // bucket_bytes))))
    out = _Output(
        lake,
        f"{prefix}{COMPACTED}"
        + hashlib.blake2b("\n".join(keys).encode(), digest_size=10).hexdigest(),
        target_bytes,
    )
    bucketed = 0
    try:
        for key in list(keys):  # one input file in memory at a time
            try:
                table = _read(lake, key)
            except UnreadableFileError:
                set_aside(lake, key)  # moved already: not an input to delete later
                stats.files_set_aside += 1
                keys.remove(key)
                continue
            stats.rows_in += table.num_rows
            buckets.add(table)
        for number in range(buckets.count):  # one bucket in memory at a time
            rows = buckets.read(number)
            bucketed += rows.num_rows
            if rows.num_rows:
                ids = pc.unique(rows.column("event_id"))
                unique = _unique(rows)
                del rows  # from here on only the unique rows are held
                out.write(unique, ids)
                stats.rows_out += len(ids)
                del unique
        out.close()
    finally:
        buckets.close()
        out.discard()
    if bucketed != stats.rows_in:
        raise CompactionError(
            f"{prefix}: buckets hold {bucketed} rows, the inputs {stats.rows_in}; "
            "the input files were kept"
        )
    stats.duplicates = stats.rows_in - stats.rows_out
    stats.files_out = len(out.keys)
    lake.delete([k for k in keys if k not in out.keys])
    return stats


def set_aside(lake: Lake, key: str) -> str:
    """Move an unreadable file out of the table, to corrupt/<key>; its new key."""
    target = CORRUPT_PREFIX + key
    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
        spool.write(lake.get_bytes(key))
        lake.put_file(target, spool)
    lake.delete([key])
    return target


class _Output:
    """Output files of about `target_bytes`, each uploaded then verified as it fills: the
    event_ids read back must be exactly those of the buckets written into it."""

    def __init__(self, lake: Lake, stem: str, target_bytes: int) -> None:
        self.lake, self.stem, self.target_bytes = lake, stem, target_bytes
        self.keys: list[str] = []
        self._spool: IO[bytes] | None = None
        self._writer: pq.ParquetWriter | None = None
        self._ids: list[pa.Array] = []

    def write(self, rows: pa.Table, ids: pa.Array) -> None:
        if self._writer is None:
            self._spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115
            self._writer = pq.ParquetWriter(self._spool, EVENT_SCHEMA, compression="zstd")
        self._writer.write_table(rows, row_group_size=256 * 1024)
        self._ids.append(ids)
        assert self._spool is not None
        if self._spool.tell() >= self.target_bytes:
            self.close()

    def close(self) -> None:
        """Finish, upload and verify the file being written, if any."""
        if self._writer is None or self._spool is None:
            return
        self._writer.close()
        key = f"{self.stem}-{len(self.keys):03d}.parquet"
        self.lake.put_file(key, self._spool)
        self.keys.append(key)
        self.discard()
        expected = pa.concat_arrays(self._ids).sort()
        self._ids = []
        got = pq.read_table(io.BytesIO(self.lake.get_bytes(key)), columns=["event_id"]).column(0)
        if len(got) != len(expected) or not pc.unique(got).sort().equals(expected):
            raise CompactionError(
                f"{key}: holds {len(got)} rows, expected {len(expected)} unique events; "
                "the input files were kept"
            )

    def discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._spool, self._writer = None, None


def compact_lake(
    lake: Lake,
    before: str,
    target_bytes: int = TARGET_BYTES,
    on_partition: Callable[[str, CompactionStats], None] | None = None,
    bucket_bytes: int = BUCKET_BYTES,
    on_failure: Callable[[str, Exception], None] | None = None,
) -> CompactionStats:
    """Compact every partition of a day before `before` that needs it (`needs_compaction`).

    A partition that fails is counted in `partitions_failed` and reported to `on_failure`
    (its files stay as they were); the others are still compacted."""
    total = CompactionStats()
    for prefix, files in sorted(partitions(lake, before).items()):
        if not needs_compaction(files):
            continue
        try:
            done = compact_partition(lake, prefix, files, target_bytes, bucket_bytes)
        except (CompactionError, LakeWriteError) as error:
            total.partitions_failed += 1
            if on_failure is not None:
                on_failure(prefix, error)
            continue
        for name, value in done.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        if on_partition is not None:
            on_partition(prefix, done)
    return total
