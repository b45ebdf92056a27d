"""Bounded questions: messages sent in some days, answered from their events' days only."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import boto3
import pytest
import sqlglot

from seslake.catalog import PREPARED_STATEMENTS, WINDOW_DAYS, prepared_statements
from seslake.errors import ViewError
from seslake.lake import S3Lake, local_copy
from seslake.views import inline, load_views
from seslake_cli.commands import main
from seslake_cli.engines.local import LocalAthena, to_duckdb
from seslake_cli.questions import Bounds, summary_sql
from tests.sql.builder import LakeBuilder


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten days of sends, each opened two days later; one opened 40 days later."""
    builder = LakeBuilder(tmp_path_factory.mktemp("bounded"))
    for day in range(1, 11):
        recipient = f"r{day}@x.com"
        message = builder.message(f"m{day}", [recipient], f"2026-03-{day:02d}T10:00:00Z")
        message.send()
        message.delivery(recipient, f"2026-03-{day:02d}T10:00:30Z")
        message.open(f"2026-03-{day + 2:02d}T09:00:00Z")
        builder.request(f"m{day}", region="eu" if day % 2 else "us")
    late = builder.message("late", ["late@x.com"], "2026-03-04T10:00:00Z")
    late.send()
    late.delivery("late@x.com", "2026-03-04T10:00:30Z")
    late.open("2026-04-13T09:00:00Z")  # 40 days after the send
    builder.request("late", region="eu")
    return builder.write()


def summary(engine: LocalAthena, bounds: Bounds) -> list[dict[str, object]]:
    view = next(v for v in engine.views if v.name == "summary_by_region")
    sql = summary_sql(view, ["region"], engine.columns("message_facts"), bounds)
    rows: list[dict[str, object]] = engine.query(sql).to_pylist()
    return rows


def test_bounded_equals_unbounded_for_the_same_cohort(lake: Path) -> None:
    bounds = Bounds.parse("2026-03-06", "2026-03-08", 30)  # every event within the window
    assert bounds is not None
    everything = LocalAthena(lake)
    assert summary(LocalAthena(lake, days=bounds.scan_days), bounds) == summary(everything, bounds)
    # a cohort with an event past the window: the same, but for that event
    with_late = Bounds.parse("2026-03-03", "2026-03-05", 30)
    assert with_late is not None
    (eu,) = [
        r
        for r in summary(LocalAthena(lake, days=with_late.scan_days), with_late)
        if r["region"] == "eu"
    ]
    (eu_all,) = [r for r in summary(everything, with_late) if r["region"] == "eu"]
    assert (eu["sent"], eu["opened"]) == (3, 2)  # m3, m5 and late; late's open is 40 days on
    assert (eu_all["sent"], eu_all["opened"]) == (3, 3)


def test_events_after_the_window_do_not_count(lake: Path) -> None:
    narrow = Bounds.parse("2026-03-03", "2026-03-05", 1)  # opens come two days after the send
    assert narrow is not None
    rows = summary(LocalAthena(lake, days=narrow.scan_days), narrow)
    # reads 03-03 to 03-06: m3's open (03-05) and m4's (03-06); m5's (03-07) is past it
    assert sum(int(str(r["opened"])) for r in rows) == 2


def test_a_bounded_question_opens_no_file_of_other_days(lake: Path, tmp_path: Path) -> None:
    """A damaged file in a day outside the bounds: the bounded question never opens it."""
    import shutil

    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    damaged = copy / "ses_events" / "event_type=open" / "dt=2026-04-13" / "part-damaged.parquet"
    damaged.write_bytes(b"PAR1 not parquet PAR1")
    bounds = Bounds.parse("2026-03-03", "2026-03-05", 2)
    assert bounds is not None
    engine = LocalAthena(copy, days=bounds.scan_days)
    assert summary(engine, bounds)  # answered
    with pytest.raises(Exception, match="(?i)parquet|magic|corrupt|invalid"):
        LocalAthena(copy).query("select count(*) from ses_events_unique")


def test_the_command_line(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--lake", str(lake), "--since", "2026-03-03", "--until", "2026-03-05"]
    assert main(["summary", *common, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(r["sent"] for r in rows) == 4  # m3, m4, m5, late
    assert main(["query", "message_status", *common, "--format", "json"]) == 0
    ids = {json.loads(line)["message_id"] for line in capsys.readouterr().out.splitlines()}
    assert ids == {"m3", "m4", "m5", "late"}
    assert main(["summary", *common[:2], "--since", "2026-03-05", "--until", "2026-03-03"]) == 1
    assert "is before --since" in capsys.readouterr().err


def test_an_s3_lake_copies_only_the_days_asked(lake: Path, moto_aws: None, tmp_path: Path) -> None:
    client = boto3.client("s3")
    client.create_bucket(Bucket="lake")
    for path in lake.rglob("*.parquet"):
        client.upload_file(str(path), "lake", f"lake/{path.relative_to(lake).as_posix()}")
    copied = local_copy(
        "s3://lake/lake",
        tmp_path / "cache",
        ("ses_events",),
        client,
        days=("2026-03-03", "2026-03-05"),
    )
    days = {re.search(r"dt=([\d-]+)", str(p)).group(1) for p in copied.rglob("*.parquet")}  # type: ignore[union-attr]
    assert days == {"2026-03-03", "2026-03-04", "2026-03-05"}
    assert S3Lake("lake", "lake", client).list_keys("ses_events/")  # the lake itself untouched


def rows(table: object) -> list[tuple[object, ...]]:
    listed = table.to_pylist()  # type: ignore[attr-defined]
    return sorted((tuple(r.values()) for r in listed), key=repr)


def test_the_athena_form_answers_as_the_local_bounded_engine(lake: Path) -> None:
    """`--since` against Athena inlines the views over a bounded scan: run on DuckDB over the
    whole lake, the statement answers as the engine that reads the same days only."""
    bounds = Bounds.parse("2026-03-03", "2026-03-05", 30)
    assert bounds is not None
    everything = LocalAthena(lake)
    bounded = LocalAthena(lake, days=bounds.scan_days)
    columns = everything.columns("ses_requests")
    view = next(v for v in everything.views if v.name == "summary_by_region")
    for question in (
        summary_sql(view, ["region"], everything.columns("message_facts"), bounds),
        f"select * from message_status where {bounds.sent_filter()}",
        "select event_type, count(*) as n from ses_events group by event_type",
    ):
        athena_form = inline(question, everything.views, columns, bounds.scan())
        assert rows(everything.query(athena_form)) == rows(bounded.query(question))
    # the late open (40 days on) is outside the scan: the unbounded answer differs
    assert rows(everything.query(question)) != rows(bounded.query(question))


@pytest.mark.parametrize("name", sorted(PREPARED_STATEMENTS))
def test_each_prepared_statement_answers_as_the_bounded_question(lake: Path, name: str) -> None:
    """The prepared statements' text, executed with its two parameters on DuckDB over the whole
    lake, gives the bounded question's answer: the pairs sent in those days, counted by the same
    rules, from the days read only."""
    everything = LocalAthena(lake)
    statements = prepared_statements(everything.views, everything.columns("ses_requests"), "db")
    text = statements[name].replace('"db".', "")  # the local engine has no database names
    placeholders = sqlglot.parse_one(text, read="athena").find_all(sqlglot.exp.Placeholder)
    assert len(list(placeholders)) == 2  # the `?` of regular expressions are inside literals
    parameters = [date(2026, 3, 3), "2026-03-05"]  # a DATE, or a 'YYYY-MM-DD' string
    answer = everything.connection.sql(to_duckdb(text), params=parameters).to_arrow_table()
    bounds = Bounds.parse("2026-03-03", "2026-03-05", WINDOW_DAYS)
    assert bounds is not None
    local = LocalAthena(lake, days=bounds.scan_days)
    view = PREPARED_STATEMENTS[name].split()[-1]
    if view == "summary_by_region":
        summary_view = next(v for v in local.views if v.name == view)
        expected = local.query(
            summary_sql(summary_view, ["region"], local.columns("message_facts"), bounds)
        )
    else:
        expected = local.query(f"select * from {view} where {bounds.sent_filter()}")
    assert answer.column_names == expected.column_names
    assert rows(answer) == rows(expected)
    assert answer.num_rows > 0


def test_a_prepared_statement_names_its_tables_in_the_database_and_reads_two_days() -> None:
    views = load_views()
    (text,) = [prepared_statements(views, ["message_id", "region"], "lake_db")["summary_between"]]
    assert '"lake_db".ses_events as scanned' in text and '"lake_db".ses_requests' in text
    assert "date_add('day', 30," in text
    with pytest.raises(ViewError, match="not a Glue database name"):
        prepared_statements(views, ["message_id"], 'x"; drop table y; --')
