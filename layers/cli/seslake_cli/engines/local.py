"""Athena's SQL on a laptop: DuckDB running the athena/ files over the Parquet lake.

The views are written once, in Athena engine v3 (Trino) SQL. sqlglot translates them to DuckDB,
and this module fixes the places where a plain translation would give a different answer
(each has a golden test in tests/sql/test_trino_semantics.py):

- `date_diff(unit, a, b)` counts whole elapsed units in Trino; DuckDB's `date_diff` counts
  boundaries crossed, its `date_sub` counts elapsed units.
- `bigint / bigint` is integer division in Trino (truncating toward zero): DuckDB's
  `integer_division` setting.
- `json_extract_scalar` returns NULL for an object or array in Trino; DuckDB's `->>` returns
  its JSON text.
- `cardinality` of a map or an array: DuckDB's `cardinality` takes both, its `array_length` only
  arrays.
- timestamp with time zone is shown and compared in the session time zone: Athena's is UTC, so
  DuckDB's is pinned to UTC.
- `count_if` is a bigint in Trino; DuckDB's is a 128-bit integer.
- partition columns (`event_type`, `dt`) are strings in the Glue table, never dates.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from seslake.schema import (
    EVENT_COLUMNS,
    EVENT_PARTITIONS,
    EVENT_SCHEMA,
    EVENTS_TABLE,
    FIRST_EVENT_DAY,
    REQUEST_KEY_COLUMNS,
    REQUESTS_TABLE,
)
from seslake.views import View, load_views

from ..errors import QueryError

#: Glue/Athena column types as DuckDB types, for tables of a lake that has no files yet.
_DUCKDB_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp",
    "bigint": "bigint",
    "boolean": "boolean",
    "double": "double",
    "date": "date",
    "array<string>": "varchar[]",
    "map<string,array<string>>": "map(varchar, varchar[])",
    "map<string,string>": "map(varchar, varchar)",
}

_MACROS = (
    # Trino's json_extract_scalar: NULL unless the value is a scalar.
    """create or replace macro trino_json_extract_scalar(doc, path) as
        case when json_type(doc, path) in ('OBJECT', 'ARRAY') then null
             else json_extract_string(doc, path) end""",
)


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One Trino construct whose plain DuckDB translation differs, rewritten."""
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_name = unit.name if unit is not None else "day"
        return exp.Anonymous(
            this="date_sub",
            expressions=[exp.Literal.string(unit_name.lower()), node.expression, node.this],
        )
    if isinstance(node, exp.JSONExtractScalar):
        path = node.expression
        if isinstance(path, exp.JSONPath):
            text = path.sql()
            if len(text) > 1 and text[0] == text[-1] == "'":
                text = text[1:-1].replace("''", "'")
            path = exp.Literal.string(text)
        return exp.Anonymous(this="trino_json_extract_scalar", expressions=[node.this, path])
    if isinstance(node, exp.CountIf) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node.copy(), exp.DataType.build("bigint"))
    if isinstance(node, exp.CurrentTimezone):
        return exp.Anonymous(this="current_setting", expressions=[exp.Literal.string("TimeZone")])
    if isinstance(node, exp.ArraySize):
        return exp.Anonymous(this="cardinality", expressions=[node.this])
    return node


def to_duckdb(sql: str) -> str:
    """One Athena (Trino) statement as DuckDB SQL with Athena's semantics."""
    try:
        statements = sqlglot.parse(sql, read="athena")
    except sqlglot.errors.ParseError as error:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
        raise QueryError(f"not valid Athena SQL: {plain}") from error
    trees = [s for s in statements if s is not None]
    if len(trees) != 1:
        raise QueryError(f"expected one SQL statement, got {len(trees)}")
    return trees[0].transform(_rewrite).sql(dialect="duckdb")


#: Seconds between two reports of a long query's progress.
PROGRESS_EVERY = 0.5

#: DuckDB's error for a file lacking a column of the declared table.
_OLDER_FILE = re.compile(r"schema mismatch|could not be found in file", re.IGNORECASE)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob("*.parquet"))


def _empty_table_sql(name: str, columns: Sequence[tuple[str, str]]) -> str:
    body = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in columns)
    return f"create or replace table {name} ({body})"


class LocalAthena:
    """A DuckDB connection where the lake's tables and views read as in Athena.

    `lake` is a local folder holding `ses_events/` and `ses_requests/` (either may be missing or
    empty: the table then exists with no rows).
    """

    def __init__(
        self,
        lake: str | os.PathLike[str],
        views: Sequence[View] | None = None,
        materialize: bool = False,
        days: tuple[str, str] | None = None,
        notify: Callable[[str], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """`materialize` reads the tables into memory once (fast repeated queries over a small
        lake); by default every query reads the Parquet files, as Athena does. `days` (first,
        last, YYYY-MM-DD) bounds ses_events to those `dt` partitions, at the scan: every view
        then reads only them (a bounded question). `notify` hears of slower paths taken
        (files of an older version); `progress`, of how far a long query is (0 to 100)."""
        self.lake = Path(lake)
        self.materialize = materialize
        self.days = days
        self.notify = notify
        self.progress = progress
        self.files = 0  # of ses_events, as listed for DuckDB
        self.union_by_name = False
        self._scratch = tempfile.TemporaryDirectory(prefix="seslake-")
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("set TimeZone = 'UTC'")
        self.connection.execute("set integer_division = true")
        # DuckDB keeps its estimate of a query's progress for query_progress(); it prints it
        # to stdout only if asked, which would mix it with the answer.
        self.connection.execute("set enable_progress_bar = true")
        self.connection.execute("set enable_progress_bar_print = false")
        for macro in _MACROS:
            self.connection.execute(macro)
        self.views = list(views) if views is not None else load_views()
        try:
            self._register_tables()
        except duckdb.Error as error:
            if not (self.materialize and _OLDER_FILE.search(str(error))):
                first = str(error).splitlines()[0]
                raise QueryError(f"cannot read the lake at {self.lake}: {first}") from error
            self._read_older_files()  # materialized: the tables were read now, and failed
            return
        self._create_views()

    def _register_tables(self) -> None:
        events = self.lake / EVENTS_TABLE
        files = self._event_files(events)
        if files:
            partitions = ", ".join(f"'{c.name}': 'varchar'" for c in EVENT_PARTITIONS)
            if self.union_by_name:
                # Every file's footer is read to learn its columns: the slow, general way.
                options = "union_by_name = true"
            else:
                # The table is declared by the schema module. DuckDB binds a table on the
                # first file listed and reads each other file's columns by name, with no other
                # footer read at bind time: the first is a file with every declared column.
                first = self._binding_file(files)
                files = [first, *(f for f in files if f != first)]
                options = "union_by_name = false"
            self.files = len(files)
            listed = ", ".join(_quoted(f.as_posix()) for f in files)
            self.connection.execute(
                f"create or replace {self._kind} {EVENTS_TABLE} as select * from read_parquet("
                f"[{listed}], hive_partitioning = true, "
                f"hive_types = {{{partitions}}}, {options})"
            )
        else:
            columns = [(c.name, c.glue) for c in (*EVENT_COLUMNS, *EVENT_PARTITIONS)]
            self.connection.execute(_empty_table_sql(EVENTS_TABLE, columns))
        requests = self.lake / REQUESTS_TABLE
        if _parquet_files(requests):
            loaded = (
                f"read_parquet('{requests.as_posix()}/**/*.parquet', hive_partitioning = false, "
                "union_by_name = true)"
            )
            described = self.connection.execute(f"describe select * from {loaded}").fetchall()
            found = {row[0] for row in described}
            # Files an older version wrote lack the key columns added since: NULL, as in Athena.
            missing = "".join(
                f', cast(null as {_DUCKDB_TYPES[c.glue]}) as "{c.name}"'
                for c in REQUEST_KEY_COLUMNS
                if c.name not in found
            )
            self.connection.execute(
                f"create or replace {self._kind} {REQUESTS_TABLE} "
                f"as select *{missing} from {loaded}"
            )
        else:
            columns = [(c.name, c.glue) for c in REQUEST_KEY_COLUMNS]
            self.connection.execute(_empty_table_sql(REQUESTS_TABLE, columns))

    def _event_files(self, events: Path) -> list[Path]:
        """The Parquet files of ses_events the engine reads, listed by folder name (the
        newest day's first): every one, or, for a bounded question, those of its days only, so
        no other file is opened."""
        if not events.is_dir():
            return []
        first, last = self.days if self.days is not None else (FIRST_EVENT_DAY, "9999-12-31")
        first, last = (date.fromisoformat(day).isoformat() for day in (first, last))
        folders = [
            folder
            for folder in events.glob("event_type=*/dt=*")
            if first <= folder.name.removeprefix("dt=") <= last
        ]
        folders.sort(key=lambda folder: (folder.name, folder.parent.name), reverse=True)
        return [file for folder in folders for file in sorted(folder.glob("*.parquet"))]

    def _binding_file(self, files: list[Path]) -> Path:
        """The file DuckDB binds ses_events on: the newest day's first file if it has every
        declared column (its rows times the number of files is also DuckDB's estimate of the
        table's size, which its join order depends on), else an empty file of the declared
        columns."""
        try:
            names = set(pq.read_schema(files[0]).names)
        except (OSError, pa.ArrowException):
            names = set()
        if names >= set(EVENT_SCHEMA.names):
            return files[0]
        return self._declared_events()

    def _declared_events(self) -> Path:
        """An empty Parquet file of ses_events' columns as the schema module declares them, in
        a Hive folder of its own that filters on dt prune (it holds no row, so no partition it
        names is ever seen)."""
        folder = Path(self._scratch.name) / "event_type=declared" / "dt=0000-00-00"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "columns.parquet"
        if not path.exists():
            pq.write_table(EVENT_SCHEMA.empty_table(), path)
        return path

    def _read_older_files(self) -> None:
        """Read every file by the columns its footer lists: some file lacks a column the schema
        module declares (written by an older version), and is read with that column NULL."""
        self.union_by_name = True
        try:
            self._register_tables()
        except duckdb.Error as error:
            first = str(error).splitlines()[0]
            raise QueryError(f"cannot read the lake at {self.lake}: {first}") from error
        self._create_views()
        if self.notify is not None:
            self.notify(
                "some files of the lake were written by an older version (columns added since):"
                " reading every file's columns, which is slower on a long history"
            )

    @property
    def _kind(self) -> str:
        return "table" if self.materialize else "view"

    def columns(self, table: str) -> list[str]:
        """Column names of a table or view, in order."""
        return [row[0] for row in self.connection.execute(f"describe {table}").fetchall()]

    def _create_views(self) -> None:
        request_columns = self.columns(REQUESTS_TABLE)
        for view in self.views:
            statement = to_duckdb(view.statement(request_columns))
            try:
                self.connection.execute(statement)
            except duckdb.Error as error:
                raise QueryError(f"view {view.name} failed locally: {error}") from error

    def query(self, sql: str) -> pa.Table:
        """Run one Athena SQL statement; the result as an Arrow table."""
        statement = to_duckdb(sql)
        try:
            return self._run(statement)
        except duckdb.Error as error:
            if self.union_by_name or not _OLDER_FILE.search(str(error)):
                raise QueryError(str(error).splitlines()[0]) from error
        self._read_older_files()
        try:
            return self._run(statement)
        except duckdb.Error as error:
            raise QueryError(str(error).splitlines()[0]) from error

    def _run(self, statement: str) -> pa.Table:
        """The statement's answer; with `progress`, the query runs on a thread while this one
        reports DuckDB's estimate of how far it is (a percentage) every `PROGRESS_EVERY`
        seconds."""
        if self.progress is None:
            return self.connection.sql(statement).to_arrow_table()
        answer: list[pa.Table] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                answer.append(self.connection.sql(statement).to_arrow_table())
            except BaseException as error:  # noqa: BLE001 - raised again on the caller's thread
                failure.append(error)

        worker = threading.Thread(target=work, name="seslake-query", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(PROGRESS_EVERY)
            done = self.connection.query_progress()
            if worker.is_alive() and done >= 0:
                self.progress(done)
        if failure:
            raise failure[0]
        return answer[0]

    def close(self) -> None:
        self.connection.close()
        self._scratch.cleanup()
