"""`seslake load-internal`, `query`, `summary` and `journey` on a real local lake."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seslake_cli.commands import main
from tests.sql.builder import LakeBuilder
from tests.sql.conftest import build_scenario


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    builder = LakeBuilder(tmp_path)
    build_scenario(builder)
    return builder.write()


def requests_rows(lake: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted((lake / "ses_requests").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def test_load_internal_twice_does_not_duplicate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requests.csv"
    source.write_text(
        "Message ID,Recipient,Request Time,Region,Email Type,Amount\n"
        "m1,Jane <JANE@x.com>,2026-03-01T10:00:00+02:00,eu,receipt,3\n"
        "m2,,2026-03-01 11:00:00,us,newsletter,4\n"
    )
    lake = tmp_path / "lake"
    for _ in range(2):
        code, out, err = run(
            capsys, "load-internal", str(source), "--lake", str(lake), "--types", "amount=bigint"
        )
        assert (code, err) == (0, "")
    assert json.loads(out)["rows"] == 2
    rows = requests_rows(lake)
    assert len(rows) == 2
    first = rows[0]
    assert first["message_id"] == "m1"
    assert first["recipient"] == "jane@x.com"
    assert first["request_time"].isoformat() == "2026-03-01T08:00:00"  # type: ignore[attr-defined]
    assert first["email_type"] == "receipt"
    assert first["amount"] == 3
    assert rows[1]["recipient"] is None


def test_load_internal_reports_rows_without_message_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requests.jsonl"
    source.write_text(
        '{"message_id": "m1", "region": "eu", "meta": {"a": 1}}\n'
        "\n"
        '{"region": "us"}\n'
        '{"message_id": "  ", "region": "us"}\n'
        '{"message_id": "m4", "request_time": "yesterday"}\n'
    )
    code, out, err = run(capsys, "load-internal", str(source), "--lake", str(tmp_path / "lake"))
    assert code == 3
    assert json.loads(out)["rows"] == 1
    assert f"{source}:3: no message_id" in err
    assert f"{source}:4: no message_id" in err
    assert f"{source}:5: request_time: not an ISO 8601 timestamp: 'yesterday'" in err
    (row,) = requests_rows(tmp_path / "lake")
    assert row["meta"] == '{"a":1}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("region,amount\neu,1\n", "no message_id column (columns: region, amount)"),
        ('{"message_id": "m1"}\nnot json\n', ":2: not JSON"),
        ("Message Id,message_id\nx,y\n", "both become 'message_id'"),
        ("\udcff\udcfemessage_id\n\udcff\n", "cannot be read as csv (not UTF-8"),
    ],
)
def test_load_internal_refuses_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    source = tmp_path / ("bad.jsonl" if content.startswith("{") else "bad.csv")
    source.write_bytes(content.encode("utf-8", "surrogateescape"))  # lone bytes stay bytes
    code, out, err = run(capsys, "load-internal", str(source), "--lake", str(tmp_path / "lake"))
    assert code == 1
    assert message in err
    assert not (tmp_path / "lake" / "ses_requests").exists()


def test_load_internal_reads_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "requests.parquet"
    pq.write_table(pa.table({"message_id": ["m1"], "Tier": ["gold"]}), source)
    code, _, _ = run(capsys, "load-internal", str(source), "--lake", str(tmp_path / "lake"))
    assert code == 0
    (row,) = requests_rows(tmp_path / "lake")
    assert row.pop("loaded_from") == str(source.resolve())
    assert row.pop("loaded_at") is not None
    assert row == {
        "message_id": "m1",
        "recipient": None,
        "request_time": None,
        "region": None,
        "tier": "gold",
    }


def test_load_internal_keeps_nested_and_odd_parquet_columns_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As nested JSON values are: every column gets a type Glue and Athena's views can use."""
    from seslake.catalog import glue_type

    source = tmp_path / "export.parquet"
    table = pa.table(
        {
            "message_id": ["m1", "m2"],
            "attrs": pa.array([[("plan", "pro")], None], pa.map_(pa.string(), pa.string())),
            "info": pa.array([{"a": 1, "b": "x"}, {"a": None, "b": "y"}]),
            "codes": pa.array([[1, 2], []]),
            "big": pa.array([2**64 - 1, 7], pa.uint64()),
            "small": pa.array([7, 8], pa.uint32()),
            "blob": pa.array([b"\x00\xff", None]),
            "at": pa.array([45_000, None], pa.time32("s")),  # a time of day: Glue has no type
        }
    )
    pq.write_table(table, source)
    code, out, err = run(capsys, "load-internal", str(source), "--lake", str(tmp_path / "lake"))
    assert code == 0, err
    (first, second) = requests_rows(tmp_path / "lake")
    assert json.loads(str(first["attrs"])) == {"plan": "pro"} and second["attrs"] is None
    assert json.loads(str(first["info"])) == {"a": 1, "b": "x"}
    assert json.loads(str(first["codes"])) == [1, 2] and json.loads(str(second["codes"])) == []
    assert (first["big"], second["big"]) == (str(2**64 - 1), "7")
    assert (first["small"], second["small"]) == (7, 8)
    assert first["blob"] == "AP8=" and second["blob"] is None  # base64
    assert first["at"] == "12:30:00" and second["at"] is None
    stored = pq.read_schema(next((tmp_path / "lake/ses_requests").glob("*.parquet")))
    assert all(glue_type(field.type) for field in stored)


def test_query_a_view_as_csv(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "query",
        "select * from opened_not_clicked order by message_id",
        "--lake",
        str(lake),
        "--format",
        "csv",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["message_id"], r["recipient"], r["open_count"]) for r in rows] == [
        ("m4", "f@x.com", "1"),
        ("m6", "h@x.com", "2"),
        ("m8", "j@x.com", "1"),
    ]
    assert out.splitlines()[0].startswith("message_id,recipient,sent_at")


def test_query_sql_as_json_lines(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "query",
        "select outcome, count(*) as pairs from message_facts group by outcome order by outcome",
        "--lake",
        str(lake),
        "--format",
        "json",
    )
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"outcome": "bounced", "pairs": 3},
        {"outcome": "clicked", "pairs": 1},
        {"outcome": "complained", "pairs": 1},
        {"outcome": "delivered", "pairs": 5},
        {"outcome": "opened", "pairs": 1},
        {"outcome": "rejected", "pairs": 1},
        {"outcome": "unsubscribed", "pairs": 1},
        {"outcome": None, "pairs": 1},
    ]


def test_summary_by_internal_column_and_tag(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "summary",
        "--by",
        "email_type,tag:campaign",
        "--lake",
        str(lake),
        "--format",
        "json",
    )
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    assert [(r["email_type"], r["tag_campaign"], r["sent"], r["delivered"]) for r in got] == [
        ("newsletter", None, 4, 4),
        ("receipt", "spring", 3, 2),
        ("receipt", None, 4, 4),
        (None, None, 1, 0),  # m10 rejected (not sent), m12 sent and bounced
    ]


def test_summary_by_an_unknown_column_is_a_clear_error(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "summary", "--by", "colour", "--lake", str(lake))
    assert code == 1
    assert "cannot group by 'colour'" in err and "email_type" in err


def test_journey_of_one_recipient(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "journey", "m2", "--recipient", "D@x.com", "--lake", str(lake))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "recipient",
        "step",
        "event_type",
        "event_at",
        "seconds_since_sent",
        "detail",
    ]
    assert [line.split()[2] for line in lines[2:-1]] == [
        "send",
        "bounce",
        "delivery_delay",
        "delivery",
    ]
    assert lines[-1] == "(4 rows)"


def test_query_on_an_empty_lake_has_no_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "query", "summary_by_region", "--lake", str(tmp_path), "--format", "csv"
    )
    assert code == 0
    assert out.splitlines() == [
        "region,requested,sent,delivered,bounced,hard_bounced,soft_bounced,suppressed,"
        "reputation_bounced,complained,rejected,delayed,opened,clicked,human_opened,human_clicked,"
        "unsubscribed,delivery_rate,bounce_rate,complaint_rate,open_rate,click_rate,"
        "click_to_open_rate,human_open_rate,human_click_rate,hard_bounce_rate"
    ]


def test_journey_of_an_unknown_message_says_so(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "journey", "no-such-id", "--lake", str(lake))
    assert (code, out) == (1, "")
    assert "no event for message no-such-id in the lake" in err


def test_bad_sql_and_unreadable_lakes_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "query", "selec 1", "--lake", str(tmp_path))
    assert code == 1 and err.startswith("seslake: not valid Athena SQL") and "\x1b" not in err
    broken = tmp_path / "ses_events" / "event_type=send" / "dt=2026-01-01" / "x.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not parquet")
    code, _, err = run(capsys, "query", "message_status", "--lake", str(tmp_path))
    assert code == 1 and f"{broken}' too small to be a Parquet file" in err  # names the file


def test_query_an_s3_lake_through_a_local_copy(
    lake: Path,
    moto_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="lake-bucket")
    for path in lake.rglob("*.parquet"):
        s3.upload_file(str(path), "lake-bucket", f"prod/{path.relative_to(lake).as_posix()}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "seslake" / "s3" / "lake-bucket" / "prod"
    stamps = []
    for _ in range(2):
        code, out, _ = run(
            capsys,
            "query",
            "select count(*) as pairs from message_facts",
            "--lake",
            "s3://lake-bucket/prod",
            "--format",
            "csv",
        )
        assert (code, out) == (0, "pairs\n14\n")
        stamps.append({p: p.stat().st_mtime_ns for p in cached.rglob("*.parquet")})
    assert sorted(p.name for p in stamps[0]) == sorted(p.name for p in lake.rglob("*.parquet"))
    assert stamps[1] == stamps[0]  # the second run downloaded nothing again


def test_a_lake_that_does_not_exist_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    code, out, err = run(capsys, "query", "summary_by_region", "--lake", str(missing))
    assert (code, out) == (1, "")
    assert f"no lake at {missing}: no such folder" in err
