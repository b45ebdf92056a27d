"""Rows to partitioned, zstd-compressed Parquet; bad payloads to quarantine.

Rows are buffered per partition (`event_type`, `dt`) in their type's layout
(`schema.ROW_LAYOUTS`). Every BUFFER_ROWS rows they are converted to Arrow, all partitions of a
layout together, and spilled: one temporary file per spill, holding each partition's slice as an
LZ4-compressed Arrow message, written by a thread of its own. Memory stays flat however large the
input (an open Parquet writer keeps tens of kilobytes per row group written, and one Firehose
object can feed hundreds of partitions). `commit()` then writes each partition (two at a time
once spilled) as one Parquet file of large row groups and uploads it under a name derived from
the inputs that fed it: the same inputs give the same names, so a retry overwrites instead of
adding rows.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from seslake.errors import LakeWriteError
from seslake.lake import Lake
from seslake.schema import (
    EVENT_COLUMN_NAMES,
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    EVENTS_TABLE,
    ROW_LAYOUTS,
)

QUARANTINE_PREFIX = "quarantine"
#: Rows held in memory, across partitions, before they are spilled as row groups.
BUFFER_ROWS = 20_000
#: Quarantine entries up to this many bytes stay in memory until uploaded, then go to a
#: temporary file.
SPOOL_BYTES = 256 << 10
#: A partition of at most this many rows is encoded to memory (at most a few MB of Parquet; a
#: few encode at once), a larger one to a temporary file.
IN_MEMORY_ROWS = 16_384
#: Rows per Parquet row group (about 40 MB of Arrow data with the raw record).
ROW_GROUP_ROWS = 16_384
#: Threads that encode and upload partitions at commit when none spilled (a Lambda batch).
COMMIT_THREADS = 8
Row = Sequence[Any]
_CODEC = pa.Codec("lz4_raw")
#: Plain encoding plus zstd: dictionary pages cost a fixed ~2 ms per file (dozens of column
#: chunks), and zstd already shrinks repeated values; files come out smaller without them.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "use_dictionary": False}


def rows_to_table(
    rows: Sequence[Sequence[Any]], layout: tuple[str, ...] = EVENT_COLUMN_NAMES
) -> pa.Table:
    """Rows (values in the order of `layout`, by default every column) as an Arrow table of the
    event schema; the columns `layout` leaves out are null."""
    return widen(rows_to_layout(rows, layout), layout)


def rows_to_layout(rows: Sequence[Sequence[Any]], layout: tuple[str, ...]) -> pa.Table:
    """Rows as an Arrow table of `layout`'s columns only (what a spill keeps)."""
    columns = zip(*rows, strict=True) if rows else [()] * len(layout)
    schema = layout_schema(layout)
    arrays = [_to_array(values, f.type) for values, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def widen(table: pa.Table, layout: tuple[str, ...]) -> pa.Table:
    """A table of `layout`'s columns as a table of the event schema (the others null)."""
    if layout == EVENT_COLUMN_NAMES:
        return table
    at = {name: i for i, name in enumerate(layout)}
    arrays = [
        table.column(at[c.name]) if c.name in at else pa.nulls(table.num_rows, c.arrow)
        for c in EVENT_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


@functools.cache
def layout_schema(layout: tuple[str, ...]) -> pa.Schema:
    return pa.schema([EVENT_SCHEMA.field(name) for name in layout])


def _to_array(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    # Arrow's generic conversion is slow for the shapes we have in bulk; each of these paths
    # is many times faster and gives the same array (tests compare them).
    if arrow_type in _SCALAR_TYPES and _constant(values):
        # One value all along (the sender, the account, the ingest clock, ...): counting it is
        # a fraction of converting each.
        return pa.repeat(pa.scalar(values[0], arrow_type), len(values))
    if pa.types.is_timestamp(arrow_type):
        return pa.array(values, pa.int64()).cast(arrow_type)
    if arrow_type == _TAGS_TYPE:
        return _tags_array(values)
    if arrow_type == pa.string():
        return pa.array(values, pa.large_string()).cast(arrow_type)
    return pa.array(values, arrow_type)


_TAGS_TYPE = pa.map_(pa.string(), pa.list_(pa.string()))
#: Types whose values compare cheaply (a count of equal values is no conversion's work).
_SCALAR_TYPES = frozenset({pa.string(), pa.int64(), pa.bool_(), pa.timestamp("ms")})


def _constant(values: Sequence[Any]) -> bool:
    first = values[0] if values else None
    return len(values) > 1 and values[-1] == first and values.count(first) == len(values)


def _tags_array(values: Sequence[dict[str, list[str]] | None]) -> pa.Array:
    """Tag maps, each distinct object converted once: the ingest core hands the rows of one tag
    set (a configuration set, a campaign) the same dict."""
    index: dict[int, int] = {}
    distinct: list[dict[str, list[str]] | None] = []
    positions = []
    for tags in values:  # every object stays referenced by `values`: ids are not reused
        at = index.get(id(tags))
        if at is None:
            at = index[id(tags)] = len(distinct)
            distinct.append(tags)
        positions.append(at)
    converted = _distinct_tags_array(distinct)
    if len(distinct) == len(values):
        return converted
    return converted.take(pa.array(positions, pa.int32()))


def _distinct_tags_array(values: list[dict[str, list[str]] | None]) -> pa.Array:
    if any(tags is None for tags in values):
        return pa.array(values, _TAGS_TYPE)  # notifications carry no tags: the rare mixed case
    offsets = [0]
    keys: list[str] = []
    items: list[list[str]] = []
    end = 0
    for tags in values:
        keys.extend(tags)  # type: ignore[arg-type]
        items.extend(tags.values())  # type: ignore[union-attr]
        end += len(tags)  # type: ignore[arg-type]
        offsets.append(end)
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()),
        pa.array(keys, pa.string()),
        pa.array(items, pa.list_(pa.string())),
    )


def event_key(event_type: str, dt: str, name: str) -> str:
    """Lake key of an event file."""
    return f"{EVENTS_TABLE}/event_type={event_type}/dt={dt}/{name}.parquet"


def output_name(identities: Iterable[str]) -> str:
    """A file name that depends only on the inputs that fed the file."""
    digest = hashlib.blake2b("\n".join(identities).encode(), digest_size=12).hexdigest()
    return f"part-{digest}"


@dataclass
class _Partition:
    event_type: str
    dt: str
    #: The columns of its rows, in their order: the event type's layout (every column for rows
    #: given whole, `add`).
    layout: tuple[str, ...]
    rows: list[Sequence[Any]] = field(default_factory=list)
    identities: dict[str, None] = field(default_factory=dict)  # ordered set
    row_count: int = 0
    #: Spilled rows: one `_Segment` (a compressed Arrow batch of the layout's columns) per spill
    #: the partition took part in.
    segments: list[_Segment] = field(default_factory=list)

    def spill(self, file: Path, table: pa.Table | None = None) -> tuple[_Segment, pa.Table] | None:
        """Take the buffered rows (already converted to the layout's columns: `table`) off as a
        new segment of the spill `file`: the segment and what to write there (`write_spill`)."""
        if not self.rows:
            return None
        if table is None:
            table = rows_to_layout(self.rows, self.layout)
        segment = _Segment(file)
        self.segments.append(segment)
        self.row_count += len(self.rows)
        self.rows = []
        return segment, table

    @property
    def spilled(self) -> bool:
        return bool(self.segments)

    def finish(self, table: pa.Table | None = None) -> IO[bytes]:
        """The partition's rows as one Parquet file (from its start); `table` is its buffered
        rows, already converted to the layout's columns."""
        if table is None and self.rows:
            table = rows_to_layout(self.rows, self.layout)
        self.row_count += len(self.rows)
        self.rows = []
        with _ParquetOutput(self.row_count) as out:
            if not self.segments:  # never spilled (a Lambda batch): straight from memory
                assert table is not None
                pq.write_table(
                    widen(table, self.layout), out.sink, ROW_GROUP_ROWS, **PARQUET_OPTIONS
                )
            else:
                self._write_spilled(out.sink, table)
        self.segments = []
        return out.file

    def _write_spilled(self, sink: pa.NativeFile, last: pa.Table | None) -> None:
        """The spilled rows, segment by segment, then the rows still in memory (`last`),
        gathered up to a row group and widened once together (a spill leaves a few dozen rows
        of each partition: widening each costs more)."""
        schema = layout_schema(self.layout)
        batches = itertools.chain(  # read as written: one segment in memory at a time
            (segment.read(schema) for segment in self.segments),
            last.to_batches() if last is not None else (),
        )
        with pq.ParquetWriter(sink, EVENT_SCHEMA, **PARQUET_OPTIONS) as parquet:
            pending: list[pa.RecordBatch] = []
            count = 0
            for batch in batches:
                pending.append(batch)
                count += batch.num_rows
                if count >= ROW_GROUP_ROWS:
                    rows = widen(pa.Table.from_batches(pending), self.layout)
                    parquet.write_table(rows, ROW_GROUP_ROWS)
                    pending, count = [], 0
            if pending:
                rows = widen(pa.Table.from_batches(pending), self.layout)
                parquet.write_table(rows, ROW_GROUP_ROWS)


class _ParquetOutput:
    """Where a partition's Parquet file is written: an Arrow buffer when small, an Arrow file
    under the temporary folder when large (`IN_MEMORY_ROWS`). Either way Arrow writes it with
    no Python call per write, so encoders on several threads do not queue for the GIL."""

    def __init__(self, rows: int) -> None:
        self._path: Path | None = None
        if rows <= IN_MEMORY_ROWS:
            self.sink: pa.NativeFile = pa.BufferOutputStream()
        else:
            fd, name = tempfile.mkstemp(prefix="seslake-", suffix=".parquet")
            os.close(fd)
            self._path = Path(name)
            self.sink = pa.OSFile(name, "wb")
        self.file: IO[bytes] = io.BytesIO()

    def __enter__(self) -> _ParquetOutput:
        return self

    def __exit__(self, *error: object) -> None:
        if isinstance(self.sink, pa.BufferOutputStream):
            if error[0] is None:
                self.file = io.BytesIO(self.sink.getvalue().to_pybytes())
            return
        self.sink.close()
        assert self._path is not None
        if error[0] is None:
            self.file = self._path.open("rb")  # closed by the caller, once uploaded
        self._path.unlink()  # the open file stays readable until closed


@dataclass
class _Segment:
    """Rows of one partition in a spill file: an Arrow IPC message of the layout's columns,
    LZ4-compressed on its own (one codec call for the batch, not one per buffer: a spill holds
    a slice of every partition, often a few dozen rows each)."""

    file: Path
    offset: int = -1  # set once written (write_spill)
    size: int = 0
    message_size: int = 0

    def read(self, schema: pa.Schema) -> pa.RecordBatch:
        """The segment's rows (`schema`: its partition's layout's)."""
        with self.file.open("rb") as f:
            f.seek(self.offset)
            data = f.read(self.size)
        message = _CODEC.decompress(data, decompressed_size=self.message_size, asbytes=False)
        return ipc.read_record_batch(message, schema)


def write_spill(file: Path, segments: list[tuple[_Segment, pa.Table]]) -> None:
    """The segments of one spill, one after another in `file`."""
    with file.open("wb") as out:
        for segment, table in segments:
            (batch,) = table.combine_chunks().to_batches()  # a slice of one converted chunk
            message = batch.serialize()
            data = _CODEC.compress(message, asbytes=False)
            segment.offset, segment.size, segment.message_size = out.tell(), data.size, message.size
            out.write(data)


@dataclass
class Written:
    """What a commit wrote, and which input identities could not be written."""

    rows: int = 0
    quarantined: int = 0
    files: list[str] = field(default_factory=list)
    rows_by_type: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # identity -> error


class LakeWriter:
    """Buffers rows and quarantined payloads for one unit of work, then commits them."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._partitions: dict[tuple[str, str], _Partition] = {}
        self._buffered = 0
        self._quarantine: IO[bytes] | None = None
        self._quarantine_ids: dict[str, None] = {}
        self._quarantined = 0
        self._spill_dir: Path | None = None
        self._spiller: ThreadPoolExecutor | None = None
        self._spills = 0
        self._spilling: Future[None] | None = None

    @property
    def pending_rows(self) -> int:
        return self._buffered + sum(p.row_count for p in self._partitions.values())

    def add(self, event_type: str, dt: str, row: Sequence[Any], identity: str) -> None:
        """One row with a value for every column (in the order of EVENT_COLUMNS)."""
        self.add_rows(event_type, dt, [row], identity, EVENT_COLUMN_NAMES)

    def add_rows(
        self,
        event_type: str,
        dt: str,
        rows: Sequence[Row],
        identity: str,
        layout: tuple[str, ...] | None = None,
    ) -> None:
        """Rows of one input, in `layout` (by default the event type's `ROW_LAYOUTS`; a
        partition takes rows of one layout)."""
        layout = layout or ROW_LAYOUTS[event_type]
        part = self._partitions.get((event_type, dt))
        if part is None:
            part = self._partitions[(event_type, dt)] = _Partition(event_type, dt, layout)
        elif layout != part.layout:  # a caller's mistake: `add` and `add_rows` do not mix
            raise ValueError(
                f"{event_type} rows of {len(layout)} columns for a partition of"
                f" {len(part.layout)}: a partition takes rows of one layout"
            )
        part.rows.extend(rows)
        part.identities[identity] = None
        self._buffered += len(rows)
        if self._buffered >= BUFFER_ROWS:
            self._spill()

    def _spill(self) -> None:
        """Every buffered row to its partition's IPC file (see `_converted`).

        The rows are converted here; the files are written by a thread of their own while
        ingest goes on (Arrow compresses and writes without the GIL). One spill at a time is
        in flight, so memory holds at most the rows of two."""
        if self._spill_dir is None:
            self._spill_dir = Path(tempfile.mkdtemp(prefix="seslake-spill-"))
        self._spills += 1
        file = self._spill_dir / f"{self._spills:05d}.spill"
        segments = [
            segment
            for part, table in self._converted()
            if (segment := part.spill(file, table)) is not None
        ]
        self._buffered = 0
        self._wait_for_spill()
        if self._spiller is None:
            self._spiller = ThreadPoolExecutor(1, thread_name_prefix="seslake-spill")
        self._spilling = self._spiller.submit(write_spill, file, segments)

    def _wait_for_spill(self) -> None:
        """Wait for the spill in flight, if any (its error, such as a full disk, raises here)."""
        spilling, self._spilling = self._spilling, None
        if spilling is not None:
            spilling.result()

    def _converted(self) -> Iterator[tuple[_Partition, pa.Table]]:
        """Each partition's buffered rows as Arrow, converted together by layout.

        One input often spreads over hundreds of partitions (types x days), each holding a few
        dozen rows: converting them together and slicing the table costs a fraction of
        converting each partition on its own."""
        by_layout: dict[tuple[str, ...], list[_Partition]] = {}
        for part in self._partitions.values():
            if part.rows:
                by_layout.setdefault(part.layout, []).append(part)
        for layout, parts in by_layout.items():
            table = rows_to_layout([row for p in parts for row in p.rows], layout)
            offset = 0
            for part in parts:
                count = len(part.rows)
                yield part, table.slice(offset, count)
                offset += count

    def quarantine(self, entry: dict[str, Any], identity: str, count: int = 1) -> None:
        """One quarantine entry, standing for `count` bad records (a run of identical ones)."""
        if self._quarantine is None:
            self._quarantine = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._quarantine.write(orjson.dumps(entry) + b"\n")
        self._quarantine_ids[identity] = None
        self._quarantined += count

    def commit(self) -> Written:
        """Upload everything buffered; a failed upload fails the identities that fed it.

        Partitions are encoded and uploaded by a few threads: Parquet encoding and uploads
        release the GIL, so one partition is converted while others are encoded or in flight.
        Two when partitions spilled (each then streams row groups of tens of megabytes)."""
        written = Written()
        spilled = any(p.spilled for p in self._partitions.values())
        files = len(self._partitions) + (self._quarantine is not None)
        threads = max(1, min(2 if spilled else COMMIT_THREADS, files))
        try:
            self._wait_for_spill()
            tables = {id(part): table for part, table in self._converted()}
            with ThreadPoolExecutor(threads) as pool:
                jobs = [
                    (part, pool.submit(self._put_partition, part, tables.pop(id(part), None)))
                    for part in self._partitions.values()
                ]
                quarantine = (
                    pool.submit(self._put_quarantine) if self._quarantine is not None else None
                )
                for part, job in jobs:
                    key, error = job.result()
                    if error is not None:
                        written.failed.update(dict.fromkeys(part.identities, error))
                        continue
                    written.files.append(key)
                    written.rows += part.row_count
                    written.rows_by_type[part.event_type] = (
                        written.rows_by_type.get(part.event_type, 0) + part.row_count
                    )
                if quarantine is not None:
                    key, error = quarantine.result()
                    if error is not None:
                        written.failed.update(dict.fromkeys(self._quarantine_ids, error))
                    else:
                        written.files.append(key)
                        written.quarantined = self._quarantined
        finally:
            self._close()
        return written

    def _put_partition(self, part: _Partition, table: pa.Table | None) -> tuple[str, str | None]:
        key = event_key(part.event_type, part.dt, output_name(part.identities))
        try:
            with part.finish(table) as parquet:  # closed once uploaded, not at the end
                self.lake.put_file(key, parquet)
        except LakeWriteError as exc:
            return key, str(exc)
        return key, None

    def _put_quarantine(self) -> tuple[str, str | None]:
        assert self._quarantine is not None
        key = f"{QUARANTINE_PREFIX}/{output_name(self._quarantine_ids)}.jsonl"
        try:
            self.lake.put_file(key, self._quarantine)
        except LakeWriteError as exc:
            return key, str(exc)
        return key, None

    def _close(self) -> None:
        with contextlib.suppress(OSError):  # the commit failed on it already
            self._wait_for_spill()
        if self._spiller is not None:
            self._spiller.shutdown()
            self._spiller = None
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None
        if self._quarantine is not None:
            self._quarantine.close()
        self._partitions = {}
        self._buffered = 0
        self._quarantine = None
        self._quarantine_ids = {}
        self._quarantined = 0
