"""The writer's fast Arrow conversions give exactly what Arrow's generic conversion gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seslake import writer
from seslake.lake import LocalLake
from seslake.normalize import normalize
from seslake.schema import EVENT_COLUMNS, EVENT_SCHEMA
from seslake.writer import rows_to_table
from tests.conftest import SES, load_event


def sample_rows() -> list[list[object]]:
    rows = []
    for path in sorted((SES / "publishing").glob("*.json")) + sorted(
        (SES / "notifications").glob("*.json")
    ):
        _, found = normalize(load_event(str(path.relative_to(SES.parent))), "t", 1)
        rows += [row for _, row in found]
    return rows


def test_fast_conversions_equal_the_generic_one() -> None:
    rows = sample_rows()
    generic = pa.Table.from_arrays(
        [pa.array([r[i] for r in rows], c.arrow) for i, c in enumerate(EVENT_COLUMNS)],
        schema=EVENT_SCHEMA,
    )
    assert rows_to_table(rows).equals(generic)


def test_tags_of_event_publishing_only_take_the_map_fast_path() -> None:
    rows = [r for r in sample_rows() if r[[c.name for c in EVENT_COLUMNS].index("tags")]]
    table = rows_to_table(rows)
    assert table.column("tags").to_pylist()[0][0][0] == "ses:configuration-set"
    assert table.num_rows == len(rows) > 5


def test_empty_batch() -> None:
    assert rows_to_table([]).num_rows == 0


def _written_table(tmp_path: Path, buffer_rows: int, monkeypatch: pytest.MonkeyPatch) -> pa.Table:
    monkeypatch.setattr(writer, "BUFFER_ROWS", buffer_rows)
    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 7)
    lake = LocalLake(tmp_path / str(buffer_rows))
    out = writer.LakeWriter(lake)
    rows = sample_rows() * 5
    for row in rows:
        out.add("delivery", "2026-11-29", row, "input-1")
    written = out.commit()
    assert written.rows == len(rows) and len(written.files) == 1
    path = Path(lake.url(written.files[0]))
    assert (
        max(
            pq.ParquetFile(path).metadata.row_group(i).num_rows
            for i in range(pq.ParquetFile(path).num_row_groups)
        )
        <= 7
    )
    return pq.read_table(path)


def _written_tables(
    tmp_path: Path, buffer_rows: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, pa.Table]:
    """Rows spread over six partitions, fed in turn; each file read back by its key."""
    monkeypatch.setattr(writer, "BUFFER_ROWS", buffer_rows)
    lake = LocalLake(tmp_path / f"spread-{buffer_rows}")
    out = writer.LakeWriter(lake)
    partitions = [
        (t, d) for t in ("delivery", "open", "click") for d in ("2026-11-28", "2026-11-29")
    ]
    rows = sample_rows() * 7
    for i, row in enumerate(rows):
        event_type, dt = partitions[i % len(partitions)]
        out.add(event_type, dt, row, f"input-{i // 10}")
    written = out.commit()
    assert written.rows == len(rows) and len(written.files) == len(partitions)
    return {key: pq.read_table(Path(lake.url(key))) for key in written.files}


def test_spills_across_many_partitions_write_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = _written_tables(tmp_path, 10_000, monkeypatch)
    for buffer_rows in (1, 5, 13):  # every row alone; a few per partition; uneven slices
        spilled = _written_tables(tmp_path, buffer_rows, monkeypatch)
        assert spilled.keys() == in_memory.keys()
        for key, table in in_memory.items():
            assert spilled[key].equals(table), (buffer_rows, key)
    assert sum(t.num_rows for t in in_memory.values()) == len(sample_rows()) * 7


def test_spilled_and_in_memory_partitions_write_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = _written_table(tmp_path, 10_000, monkeypatch)  # never spills
    spilled = _written_table(tmp_path, 4, monkeypatch)  # spills every few rows (Arrow IPC)
    assert in_memory.num_rows == len(sample_rows()) * 5
    assert spilled.equals(in_memory)


@pytest.mark.parametrize("buffer_rows", [10_000, 4])  # in memory; spilled every few rows
def test_a_large_partition_is_encoded_to_a_file_with_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffer_rows: int
) -> None:
    """Partitions past IN_MEMORY_ROWS are encoded to a temporary file, not a buffer."""
    in_memory = _written_table(tmp_path / "memory", buffer_rows, monkeypatch)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setattr(writer, "IN_MEMORY_ROWS", 3)
    made: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(**options: str) -> tuple[int, str]:
        made.append(options.get("prefix", ""))
        return real_mkstemp(**options)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    on_disk = _written_table(tmp_path / "disk", buffer_rows, monkeypatch)
    assert made.count("seslake-") == 1  # the file way was taken
    assert on_disk.num_rows == len(sample_rows()) * 5 > 3
    assert on_disk.equals(in_memory)
    assert not list(temporary.glob("seslake-*.parquet"))  # none left behind
