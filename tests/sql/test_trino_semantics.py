"""Golden tests: Athena (Trino) answers that a plain DuckDB translation would get wrong.

Each expected value is what Athena engine v3 returns, per the Trino function reference. The
local engine (seslake_cli.engines.local) must give the same; where the trap is real, the test
also shows that sqlglot's translation alone answers differently.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from seslake_cli.engines.local import LocalAthena
from tests.sql.builder import LakeBuilder


@pytest.fixture(scope="module")
def athena(tmp_path_factory: pytest.TempPathFactory) -> LocalAthena:
    lake = LakeBuilder(tmp_path_factory.mktemp("golden"))
    message = lake.message(
        "m1",
        ["a@x.com", "b@x.com"],
        "2026-03-01T23:59:00Z",
        tags={"campaign": ["spring"], "team": ["growth", "ads"]},
    )
    message.send()
    return lake.engine()


def one(engine: LocalAthena, sql: str) -> Any:
    table = engine.query(sql)
    assert table.num_rows == 1 and table.num_columns == 1, table
    return table.column(0)[0].as_py()


def plain_duckdb(sql: str) -> Any:
    """What sqlglot's translation alone answers, on a bare DuckDB in UTC."""
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    return connection.execute(sqlglot.transpile(sql, read="athena", write="duckdb")[0]).fetchone()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # whole elapsed units, not boundaries crossed
        (
            "select date_diff('second', timestamp '2026-03-01 23:59:59.900', "
            "timestamp '2026-03-02 00:00:00.100')",
            0,
        ),
        (
            "select date_diff('day', timestamp '2026-03-01 23:00:00', "
            "timestamp '2026-03-02 01:00:00')",
            0,
        ),
        ("select date_diff('month', date '2026-01-15', date '2026-02-14')", 0),
        (
            "select date_diff('second', timestamp '2026-03-01 10:00:00', "
            "timestamp '2026-03-01 09:59:58.500')",
            -1,
        ),
        (
            "select date_diff('hour', timestamp '2026-03-01 10:00:00', "
            "timestamp '2026-03-03 11:30:00')",
            49,
        ),
    ],
)
def test_date_diff_counts_whole_elapsed_units(athena: LocalAthena, sql: str, expected: int) -> None:
    assert one(athena, sql) == expected


def test_date_diff_trap_is_real() -> None:
    sql = (
        "select date_diff('second', timestamp '2026-03-01 23:59:59.900', "
        "timestamp '2026-03-02 00:00:00.100')"
    )
    assert plain_duckdb(sql) == (1,)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 7 / 2", 3),
        ("select -7 / 2", -3),  # truncates toward zero
        ("select cast(7 as bigint) / cast(2 as bigint)", 3),
        ("select count_if(x) / count(*) from (values true, false, true) as t(x)", 0),
        ("select cast(7 as double) / 2", 3.5),
    ],
)
def test_integer_division(athena: LocalAthena, sql: str, expected: Any) -> None:
    assert one(athena, sql) == expected


def test_integer_division_trap_is_real() -> None:
    assert plain_duckdb("select 7 / 2") == (3.5,)


@pytest.mark.parametrize(
    ("document", "path", "expected"),
    [
        ('{"a": {"b": 1}}', "$.a", None),  # an object is not a scalar
        ('{"a": [1, 2]}', "$.a", None),  # nor an array
        ('{"a": {"b": 1}}', "$.a.b", "1"),
        ('{"a": "x"}', "$.a", "x"),
        ('{"a": true}', "$.a", "true"),
        ('{"a": null}', "$.a", None),
        ('{"a": 1}', "$.missing", None),
    ],
)
def test_json_extract_scalar(
    athena: LocalAthena, document: str, path: str, expected: str | None
) -> None:
    assert one(athena, f"select json_extract_scalar('{document}', '{path}')") == expected


def test_json_extract_scalar_trap_is_real() -> None:
    assert plain_duckdb("""select json_extract_scalar('{"a": {"b": 1}}', '$.a')""") == ('{"b":1}',)


def test_session_time_zone_is_utc(athena: LocalAthena) -> None:
    assert one(athena, "select current_timezone()") in ("UTC", "Etc/UTC")
    # A timestamp literal is read in the session zone (UTC) when compared with an instant.
    assert (
        one(
            athena,
            "select from_iso8601_timestamp('2026-03-01T23:30:00-02:00') "
            "> timestamp '2026-03-02 01:00:00'",
        )
        is True
    )
    assert one(athena, "select date(from_iso8601_timestamp('2026-03-01T23:30:00Z'))") == date(
        2026, 3, 1
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00.123+02:00", datetime(2026, 3, 1, 8, 0, 0, 123000)),
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, 0)),
        ("2026-03-01", datetime(2026, 3, 1)),
    ],
)
def test_from_iso8601_timestamp_is_an_instant(
    athena: LocalAthena, text: str, expected: datetime
) -> None:
    sql = f"select from_iso8601_timestamp('{text}') = timestamp '{expected.isoformat(sep=' ')}'"
    assert one(athena, sql) is True


def test_partition_columns_are_strings(athena: LocalAthena) -> None:
    table = athena.query("select event_type, dt from ses_events limit 1")
    assert table.schema.field("dt").type == pa.string()
    assert table.schema.field("event_type").type == pa.string()
    assert one(athena, "select count(*) from ses_events where dt = '2026-03-01'") == 2
    assert (
        one(athena, "select count(*) from ses_events where dt between '2026-03' and '2026-04'") == 2
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select element_at(map(array['a', 'b'], array[1, 2]), 'b')", 2),
        ("select element_at(map(array['a'], array[1]), 'zz')", None),
        ("select element_at(array[10, 20, 30], 1)", 10),
        ("select element_at(array[10, 20, 30], -1)", 30),
        ("select element_at(array[10, 20, 30], 5)", None),
        ("select element_at(element_at(tags, 'team'), 2) from ses_events limit 1", "ads"),
        ("select element_at(tags, 'absent') from ses_events limit 1", None),
    ],
)
def test_element_at_on_maps_and_arrays(athena: LocalAthena, sql: str, expected: Any) -> None:
    assert one(athena, sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select cardinality(array[1, 2, 3])", 3),
        ("select cardinality(map(array['a', 'b'], array[1, 2]))", 2),
        ("select cardinality(tags) from ses_events limit 1", 3),
        ("select cardinality(destination) from ses_events limit 1", 2),
    ],
)
def test_cardinality(athena: LocalAthena, sql: str, expected: int) -> None:
    assert one(athena, sql) == expected


def test_cardinality_trap_is_real() -> None:
    with pytest.raises(duckdb.Error):
        plain_duckdb("select cardinality(map(array['a', 'b'], array[1, 2]))")


def test_approx_distinct_within_trinos_standard_error(athena: LocalAthena) -> None:
    # Trino's approx_distinct has a 2.3% standard error; three of them is a safe bound.
    got = one(athena, "select approx_distinct(x) from unnest(sequence(1, 5000)) as t(x)")
    assert abs(got - 5000) <= 5000 * 0.069
    assert one(athena, "select approx_distinct(x) from (values 1, 1, 2) as t(x)") == 2


def test_count_if_is_a_bigint_that_skips_nulls(athena: LocalAthena) -> None:
    table = athena.query("select count_if(x) as n from (values true, false, null, true) as t(x)")
    assert table.schema.field("n").type == pa.int64()
    assert table.column(0)[0].as_py() == 2


def test_cross_join_unnest(athena: LocalAthena) -> None:
    table = athena.query(
        "select recipient, address from ses_events cross join unnest(destination) as d(address) "
        "order by recipient, address"
    )
    assert [tuple(r.values()) for r in table.to_pylist()] == [
        ("a@x.com", "a@x.com"),
        ("a@x.com", "b@x.com"),
        ("b@x.com", "a@x.com"),
        ("b@x.com", "b@x.com"),
    ]
    assert (
        one(
            athena,
            "select sum(n) from (values (array[1, 2]), (array[3])) as t(a) "
            "cross join unnest(a) as u(n)",
        )
        == 6
    )


@pytest.mark.parametrize(
    "sql", ["select concat('a', null)", "select 'a' || null", "select 'a' || cast(null as varchar)"]
)
def test_concatenating_null_is_null(athena: LocalAthena, sql: str) -> None:
    assert one(athena, sql) is None


def test_unknown_sql_is_a_clear_error(athena: LocalAthena, tmp_path: Path) -> None:
    from seslake_cli.errors import QueryError

    with pytest.raises(QueryError, match="nope"):
        athena.query("select * from nope")
    with pytest.raises(QueryError, match="one SQL statement"):
        athena.query("select 1; select 2")
