"""The company's data exactly as given: no silent nulls, no lost zeros, no SQL from names,
no file written outside the lake's copy."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seslake.errors import InternalFileError, LakeLocationError
from seslake.internal import load_internal, parse_types
from seslake.lake import local_copy, open_lake
from seslake_cli.commands import main
from tests.conftest import SES

SENT = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"  # publishing/send.json

MESSY = (
    "message_id,recipient,region,customer_id,zip,flag\n"
    f"{SENT},recipient@example.com,NA,000123,01234,TRUE\n"
    "m2,b@x.com,null,18446744073709551616,N/A,None\n"
    "m3,c@x.com,,,,\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(lake: Path) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for path in sorted((lake / "ses_requests").glob("*.parquet")):
        found += pq.read_table(path).to_pylist()
    return sorted(found, key=lambda r: str(r["message_id"]))


def test_csv_cells_stay_the_text_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requests.csv"
    source.write_text(MESSY)
    lake = tmp_path / "lake"
    code, _, err = run(capsys, "load-internal", str(source), "--lake", str(lake))
    assert (code, err) == (0, "")
    first, m2, m3 = rows(lake)
    assert (first["region"], first["customer_id"], first["zip"], first["flag"]) == (
        "NA",
        "000123",
        "01234",
        "TRUE",
    )
    assert (m2["region"], m2["customer_id"], m2["zip"], m2["flag"]) == (
        "null",
        "18446744073709551616",
        "N/A",
        "None",
    )
    # only an empty cell is missing
    assert (m3["region"], m3["customer_id"], m3["zip"], m3["flag"]) == (None, None, None, None)


def test_na_is_a_region_in_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = tmp_path / "lake"
    code, _, _ = run(capsys, "ingest", str(SES / "publishing" / "send.json"), "--lake", str(lake))
    assert code == 0
    source = tmp_path / "requests.csv"
    source.write_text(MESSY)
    run(capsys, "load-internal", str(source), "--lake", str(lake))
    code, out, err = run(
        capsys, "summary", "--by", "region", "--lake", str(lake), "--format", "json"
    )
    assert (code, err) == (0, "")
    by_region = {row["region"]: row for row in map(json.loads, out.splitlines())}
    assert by_region["NA"]["sent"] == 1  # North America, not NULL


def test_declared_types_convert_and_a_bad_cell_refuses_the_whole_file(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("message_id,customer_id,score,active,signup\nm1,000123,0.5,true,2026-11-01\n")
    lake = open_lake(str(tmp_path / "lake"))
    types = parse_types("Customer ID=bigint,score=double,active=boolean,signup=date")
    load_internal([good], lake, types)
    (row,) = rows(tmp_path / "lake")
    assert (row["customer_id"], row["score"], row["active"]) == (123, 0.5, True)
    assert str(row["signup"]) == "2026-11-01"

    bad = tmp_path / "bad.csv"
    bad.write_text("message_id,customer_id\nm7,7\nm8,18446744073709551616\n")
    with pytest.raises(InternalFileError, match=r"bad.csv:3: column customer_id: .* not a bigint"):
        load_internal([bad], lake, types)
    assert len(list((tmp_path / "lake" / "ses_requests").glob("*.parquet"))) == 1  # good's only


def test_unknown_declared_types_are_a_clear_error() -> None:
    with pytest.raises(InternalFileError, match="name=type"):
        parse_types("customer_id=integer")
    with pytest.raises(InternalFileError, match="request_time is always a timestamp"):
        parse_types("request_time=string")


def test_a_column_name_is_never_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-print-me")
    hostile = (
        "customer_tier\" as zz, (select string_agg(content, '') from "
        f"read_text('{secret}')) as pwned --"
    )
    lake = tmp_path / "lake"
    run(capsys, "ingest", str(SES / "publishing" / "send.json"), "--lake", str(lake))
    (lake / "ses_requests").mkdir()
    table = pa.table({"message_id": [SENT], hostile: ["gold"]})
    pq.write_table(table, lake / "ses_requests" / "dropped.parquet")
    code, out, err = run(
        capsys, "query", "select distinct pwned from message_facts", "--lake", str(lake)
    )
    assert code == 1
    assert "do-not-print-me" not in out + err
    assert "column names must be lowercase letters, digits and underscores" in err


def test_key_columns_holding_lists_and_overlong_names_are_refused_before_writing(
    tmp_path: Path,
) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"message_id": [["m1", "m2"]]}), nested)
    with pytest.raises(InternalFileError, match="column message_id holds list"):
        load_internal([nested], lake)
    long_name = tmp_path / "long.csv"
    long_name.write_text(f"message_id,{'x' * 256}\nm1,v\n")
    with pytest.raises(InternalFileError, match="256 characters; Glue allows 255"):
        load_internal([long_name], lake)
    wide = tmp_path / "wide.csv"
    names = [f"column_with_a_long_descriptive_name_{i:05d}" for i in range(5000)]
    wide.write_text("message_id," + ",".join(names) + "\nm1" + ",v" * len(names) + "\n")
    with pytest.raises(InternalFileError, match="Athena allows 262,144"):
        load_internal([wide], lake)
    assert not (tmp_path / "lake").exists()


def test_copying_an_s3_lake_never_writes_outside_its_folder(moto_aws: None, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="lake-bucket")
    s3.put_object(Bucket="lake-bucket", Key="lake/ses_events/../../../../escape.parquet", Body=b"x")
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(LakeLocationError, match="leaves the lake folder"):
        local_copy("s3://lake-bucket/lake", cache, ("ses_events",), s3)
    assert list(tmp_path.rglob("escape.parquet")) == []


# Loads never overwrite each other; a request loaded again is counted once ----------------


def _requests_csv(path: Path, count: int, tier: str = "gold", start: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["message_id,recipient,region,tier"]
    lines += [f"m{i},r{i}@x.com,eu,{tier}" for i in range(start, start + count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_files_of_one_name_in_two_folders_are_both_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _requests_csv(tmp_path / "2026-11-28" / "requests.csv", 100)
    second = _requests_csv(tmp_path / "2026-11-29" / "requests.csv", 50, start=100)
    lake = tmp_path / "lake"
    code, out, _ = run(capsys, "load-internal", str(first), str(second), "--lake", str(lake))
    assert code == 0 and json.loads(out)["rows"] == 150
    assert len(rows(lake)) == 150
    # and the very same file loaded again rewrites its own output, adding nothing
    run(capsys, "load-internal", str(first), "--lake", str(lake))
    assert len(rows(lake)) == 150
    assert len(list((lake / "ses_requests").glob("*.parquet"))) == 2


def _facts(lake: Path, capsys: pytest.CaptureFixture[str], sql: str) -> list[dict[str, object]]:
    code, out, err = run(capsys, "query", sql, "--lake", str(lake), "--format", "json")
    assert (code, err) == (0, "")
    return [json.loads(line) for line in out.splitlines()]


def test_the_same_requests_loaded_again_are_counted_once_and_the_latest_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    run(capsys, "ingest", str(SES / "publishing" / "send.json"), "--lake", str(lake))
    sent = f"{SENT},recipient@example.com,eu,"
    (tmp_path / "requests.csv").write_text(f"message_id,recipient,region,tier\n{sent}gold\n")
    (tmp_path / "requests-fixed.csv").write_text(f"message_id,recipient,region,tier\n{sent}vip\n")
    for name in ("requests.csv", "requests-fixed.csv"):
        code, _, _ = run(capsys, "load-internal", str(tmp_path / name), "--lake", str(lake))
        assert code == 0
    facts = _facts(lake, capsys, "select message_id, recipient, tier from message_facts")
    assert facts == [{"message_id": SENT, "recipient": "recipient@example.com", "tier": "vip"}]
    (summary,) = _facts(lake, capsys, "select requested, sent from summary_by_region")
    assert summary == {"requested": 1, "sent": 1}
    both = _facts(lake, capsys, "select count(*) as n from ses_requests")
    assert both == [{"n": 2}]  # both loads are kept; the view decides which one counts
    duplicated = (
        "select message_id, recipient from ses_requests_current group by 1, 2 having count(*) > 1"
    )
    assert _facts(lake, capsys, duplicated) == []  # the view's key is unique


def test_a_recipients_own_row_wins_over_the_message_level_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    run(capsys, "ingest", str(SES / "publishing" / "send.json"), "--lake", str(lake))
    (tmp_path / "requests.csv").write_text(
        "message_id,recipient,campaign\n"
        f"{SENT},,spring\n"  # the message as a whole
        f"{SENT},recipient@example.com,spring-vip\n"  # its one recipient, more precisely
    )
    run(capsys, "load-internal", str(tmp_path / "requests.csv"), "--lake", str(lake))
    facts = _facts(lake, capsys, "select recipient, campaign from message_facts")
    assert facts == [{"recipient": "recipient@example.com", "campaign": "spring-vip"}]


def test_views_read_files_written_before_loaded_at_existed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    run(capsys, "ingest", str(SES / "publishing" / "send.json"), "--lake", str(lake))
    (lake / "ses_requests").mkdir()
    old = pa.table(
        {
            "message_id": [SENT],
            "recipient": ["recipient@example.com"],
            "request_time": pa.array([None], pa.timestamp("ms")),
            "region": ["eu"],
            "tier": ["gold"],
        }
    )
    pq.write_table(old, lake / "ses_requests" / "requests-0123456789abcdef.parquet")
    facts = _facts(lake, capsys, "select region, tier, is_requested from message_facts")
    assert facts == [{"region": "eu", "tier": "gold", "is_requested": True}]


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_a_recipient_list_is_one_row_per_address(tmp_path: Path, kind: str) -> None:
    to = ["Oliva Mante <Oliva.Mante@gmail.com>", "b@x.com"]
    source = tmp_path / f"sent.{kind}"
    if kind == "jsonl":
        lines = [{"message_id": "m1", "recipient": to, "campaign": "c"}]
        lines.append({"message_id": "m2", "recipient": [], "campaign": "d"})
        source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    else:
        table = pa.table(
            {"message_id": ["m1", "m2"], "recipient": [to, []], "campaign": ["c", "d"]}
        )
        pq.write_table(table, source)
    stats, _ = load_internal([source], open_lake(str(tmp_path / "lake")))
    assert stats.rows == 3
    loaded = [(r["message_id"], r["recipient"], r["campaign"]) for r in rows(tmp_path / "lake")]
    assert sorted(loaded, key=str) == sorted(
        [("m1", "oliva.mante@gmail.com", "c"), ("m1", "b@x.com", "c"), ("m2", None, "d")],
        key=str,
    )


def test_seslake_column_names_are_reserved(tmp_path: Path) -> None:
    source = tmp_path / "requests.csv"
    source.write_text("message_id,loaded_at\nm1,yesterday\n")
    with pytest.raises(InternalFileError, match="column loaded_at is seslake's own"):
        load_internal([source], open_lake(str(tmp_path / "lake")))
