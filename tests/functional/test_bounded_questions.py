"""Bounded questions: messages sent in some days, answered from their events' days only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest

from seslake.cli import main
from seslake.lake import S3Lake, local_copy
from seslake.local import LocalAthena
from seslake.questions import Bounds, summary_sql
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
