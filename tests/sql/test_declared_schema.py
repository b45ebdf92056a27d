"""The local engine declares ses_events from the schema module: DuckDB binds the declared
columns, reads each file's own columns by name, and opens no footer to answer a question that
prunes a file's folder. Files of an older version (columns added since) still read."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from seslake.schema import EVENT_SCHEMA
from seslake_cli.engines.local import LocalAthena
from seslake_cli.errors import QueryError
from tests.sql.builder import LakeBuilder


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    builder = LakeBuilder(tmp_path)
    for day in (1, 2, 3):
        recipient = f"r{day}@x.com"
        message = builder.message(f"m{day}", [recipient], f"2026-03-0{day}T10:00:00Z")
        message.send()
        message.delivery(recipient, f"2026-03-0{day}T10:00:30Z")
    return builder.write()


def older(lake: Path, folder: str, dropped: str) -> None:
    """Rewrite the files of one partition as a version without column `dropped` wrote them."""
    for path in (lake / "ses_events").glob(f"{folder}/*.parquet"):
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns([dropped]), path)


def test_a_damaged_file_in_a_folder_a_question_prunes_is_never_opened(lake: Path) -> None:
    damaged = lake / "ses_events" / "event_type=send" / "dt=2026-03-01" / "part-damaged.parquet"
    damaged.write_bytes(b"PAR1 not parquet PAR1")
    engine = LocalAthena(lake)  # binding read no footer of the lake's files
    sql = "select count(*) as n from ses_events_unique where dt >= '2026-03-02'"
    assert engine.query(sql).column("n").to_pylist() == [4]  # 2 days x send, delivery
    with pytest.raises(QueryError):
        engine.query("select count(*) from ses_events_unique")  # reads the damaged file


def test_files_of_an_older_version_read_with_the_new_column_null(lake: Path) -> None:
    older(lake, "event_type=delivery/dt=2026-03-02", "smtp_response")
    notes: list[str] = []
    engine = LocalAthena(lake, notify=notes.append)
    assert not engine.union_by_name
    rows = engine.query(
        "select message_id, smtp_response from ses_events_unique "
        "where event_type = 'delivery' order by message_id"
    ).to_pylist()
    assert [r["message_id"] for r in rows] == ["m1", "m2", "m3"]
    assert rows[1]["smtp_response"] is None and rows[0]["smtp_response"] is not None
    assert engine.union_by_name and len(notes) == 1 and "older version" in notes[0]
    statuses = engine.query(
        "select count(*) as n from message_status where delivered_at is not null"
    )
    assert statuses.column("n").to_pylist() == [3]


def test_a_question_that_never_reads_the_older_file_stays_on_the_declared_schema(
    lake: Path,
) -> None:
    older(lake, "event_type=delivery/dt=2026-03-02", "smtp_response")
    engine = LocalAthena(lake)
    sql = "select count(*) as n from ses_events_unique where dt = '2026-03-03'"
    assert engine.query(sql).column("n").to_pylist() == [2]
    assert not engine.union_by_name


def test_a_materialized_engine_over_older_files(lake: Path) -> None:
    older(lake, "event_type=send/dt=2026-03-01", "from_address")
    notes: list[str] = []
    engine = LocalAthena(lake, materialize=True, notify=notes.append)
    assert engine.query("select count(*) as n from message_status").column("n").to_pylist() == [3]
    assert engine.union_by_name and notes


def test_the_newest_files_of_an_older_version_bind_on_the_declared_columns(lake: Path) -> None:
    """The table is bound on a file of the newest day when it has every declared column (its
    row count gives DuckDB its size estimate); when that file is older, on the empty file of
    the declared columns, and the answers are the same."""
    for kind in ("send", "delivery"):
        older(lake, f"event_type={kind}/dt=2026-03-03", "smtp_response")
    engine = LocalAthena(lake)
    columns = engine.columns("ses_events")
    assert columns[:-2] == EVENT_SCHEMA.names and set(columns[-2:]) == {"event_type", "dt"}
    rows = engine.query("select count(*) as n from message_status").to_pylist()
    assert rows == [{"n": 3}]


def test_a_long_query_reports_its_progress(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`progress` hears DuckDB's estimate (0-100) while a query runs, and the answer is the
    same as without it."""
    monkeypatch.setattr("seslake_cli.engines.local.PROGRESS_EVERY", 0.05)
    heard: list[float] = []
    engine = LocalAthena(lake, progress=heard.append)
    sql = "select count(*) as n from range(600000000) as t(x) where x % 7 = 3"
    assert engine.query(sql).column("n").to_pylist() == [85714286]
    assert heard and all(0 <= p <= 100 for p in heard)
    assert engine.query("select count(*) as n from message_status").column("n").to_pylist() == [3]
    with pytest.raises(QueryError, match="no_such_view"):
        engine.query("select * from no_such_view")  # a failure on the query's thread
