"""The ingest core against a real lake folder: quarantine, idempotency, Parquet layout."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from seslake import ingest
from seslake.lake import LocalLake
from seslake.schema import EVENT_SCHEMA, EVENT_TYPES
from seslake.sources import ingest_files
from tests.conftest import SES, load_event, read_events, read_quarantine


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_layout_types_and_compression(tmp_path: Path) -> None:
    ingest_files([SES / "envelopes/firehose-batch.txt"], LocalLake(tmp_path))
    files = sorted((tmp_path / "ses_events").rglob("*.parquet"))
    assert {f.parent.parent.name for f in files} == {f"event_type={t}" for t in EVENT_TYPES}
    assert all(f.parent.name.startswith("dt=") for f in files)
    meta = pq.ParquetFile(files[0])
    assert meta.schema_arrow.equals(EVENT_SCHEMA)
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"


def test_reingesting_the_same_input_adds_no_rows(tmp_path: Path) -> None:
    inputs = [SES / "envelopes/firehose-batch.txt", SES / "envelopes/sqs-from-sns.json"]
    lake = LocalLake(tmp_path)
    first = ingest_files(inputs, lake)
    files_before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet"))
    second = ingest_files(inputs, lake)
    assert first.rows == second.rows == 12
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet")) == files_before
    assert len(read_events(tmp_path)) == 12


def test_each_bad_record_is_quarantined_and_its_neighbours_kept(tmp_path: Path) -> None:
    send = load_event("ses/publishing/send.json")
    unknown = dict(copy.deepcopy(send), eventType="Teleport")
    no_id = copy.deepcopy(send)
    del no_id["mail"]["messageId"]
    bad_time = copy.deepcopy(load_event("ses/publishing/open.json"))
    bad_time["open"]["timestamp"] = "not a time"
    no_recipients = copy.deepcopy(load_event("ses/publishing/delivery.json"))
    no_recipients["delivery"]["recipients"] = []
    extra = copy.deepcopy(send)
    extra["send"]["aFieldSesAddsLater"] = {"x": 1}
    extra["mail"]["messageId"] = "extra-fields-are-fine"
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            send,
            unknown,
            '{"eventType": "Send", "mail": {',
            no_id,
            bad_time,
            no_recipients,
            ["not", "an", "object"],
            extra,
        ],
    )
    stats = ingest_files([path], LocalLake(tmp_path / "lake"))
    rows = read_events(tmp_path / "lake")
    bad = read_quarantine(tmp_path / "lake")
    assert sorted(r["message_id"] for r in rows) == sorted(
        [send["mail"]["messageId"], "extra-fields-are-fine"]
    )
    reasons = {b["line"]: b["reason"] for b in bad}
    assert reasons[2] == "unknown SES eventType 'Teleport'"
    assert reasons[3].startswith("cut off")
    assert reasons[4] == "send record without mail.messageId"
    assert reasons[5].startswith("open.timestamp: not an ISO 8601 timestamp")
    assert "names no recipient" in reasons[6]
    assert reasons[7] == "JSON array of non-objects, not SES events"
    assert stats.records == 8 and stats.quarantined == 6 and stats.rows == 2
    # Every quarantined payload is the original text, origin included.
    assert json.loads(next(b for b in bad if b["line"] == 2)["payload"])["eventType"] == "Teleport"
    assert all(b["origin"].endswith("mixed.jsonl") for b in bad)


def test_out_of_range_numbers_and_instants_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """Values JSON allows but the table cannot hold: each record quarantined with its reason,
    never an error at write time that would fail the good records of the same batch."""
    delivery = load_event("ses/publishing/delivery.json")
    text = json.dumps(delivery)
    field = '"processingTimeMillis": '
    huge = [  # the original value follows as an unknown field "x"
        text.replace(field, f'{field}1{"0" * 30}, "x": '),  # beyond 64 bits
        text.replace(field, f'{field}1e300, "x": '),
        text.replace(field, f'{field}"{"9" * 26}", "x": '),  # a number as text
    ]
    year_zero = copy.deepcopy(delivery)
    year_zero["delivery"]["timestamp"] = "0001-01-01T00:30:00+01:00"
    path = write_lines(tmp_path / "edges.jsonl", [*huge, year_zero, delivery])
    stats = ingest_files([path], LocalLake(tmp_path / "lake"))
    reasons = {b["line"]: b["reason"] for b in read_quarantine(tmp_path / "lake")}
    assert all("delivery.processingTimeMillis: out of range" in reasons[n] for n in (1, 2, 3))
    assert reasons[4].startswith("delivery.timestamp: ") and "out of range" in reasons[4]
    assert stats.rows == len(delivery["delivery"]["recipients"]) and stats.quarantined == 4
    assert [r["message_id"] for r in read_events(tmp_path / "lake")] == [
        delivery["mail"]["messageId"]
    ] * stats.rows


def test_a_record_that_breaks_normalize_unforeseen_is_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net for bugs: an unexpected exception costs one record, not the batch."""
    from seslake.normalize import normalize as real
    from seslake.typed import rows as real_typed

    def normalize(record: dict[str, Any], *args: Any) -> Any:
        if record["mail"]["messageId"] == "breaks":
            raise ZeroDivisionError("division by zero")
        return real(record, *args)

    def typed_rows(record: Any, *args: Any) -> Any:  # the same bug in the typed reading
        if record.mail.message_id == "breaks":
            raise ZeroDivisionError("division by zero")
        return real_typed(record, *args)

    monkeypatch.setattr(ingest, "normalize", normalize)
    monkeypatch.setattr(ingest, "typed_rows", typed_rows)
    send = load_event("ses/publishing/send.json")
    breaks = copy.deepcopy(send)
    breaks["mail"]["messageId"] = "breaks"
    path = write_lines(tmp_path / "b.jsonl", [send, breaks, send])
    stats = ingest_files([path], LocalLake(tmp_path / "lake"))
    (entry,) = read_quarantine(tmp_path / "lake")
    assert entry["reason"] == f"{ingest.UNFORESEEN} a record: ZeroDivisionError: division by zero"
    assert json.loads(entry["payload"])["mail"]["messageId"] == "breaks"
    assert stats.quarantined == 1 and stats.rows == 2 * len(send["mail"]["destination"])


def test_hard_bounces_are_counted_for_the_bounce_rate_alarm(tmp_path: Path) -> None:
    """SES reviews accounts on hard (Permanent) bounces: soft ones must not count."""
    hard = load_event("ses/publishing/bounce-permanent.json")
    soft = copy.deepcopy(hard)
    soft["bounce"]["bounceType"] = "Transient"
    soft["mail"]["messageId"] = "soft"
    two = copy.deepcopy(hard)
    two["mail"]["messageId"] = "two-recipients"
    two["bounce"]["bouncedRecipients"] *= 2
    two["bounce"]["bouncedRecipients"][1] = {"emailAddress": "other@example.com"}
    path = write_lines(tmp_path / "bounces.jsonl", [hard, soft, two])
    stats = ingest_files([path], LocalLake(tmp_path / "lake"))
    hard_rows = len(hard["bounce"]["bouncedRecipients"]) + 2
    assert stats.rows_by_type["bounce"] == hard_rows + len(soft["bounce"]["bouncedRecipients"])
    assert stats.hard_bounces == hard_rows == stats.as_dict()["hard_bounces"]


def test_hard_bounces_whose_write_failed_are_not_counted(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "ses_events").mkdir(parents=True)
    (lake / "ses_events/event_type=bounce").write_text("a file where a folder must go")
    bounce = load_event("ses/publishing/bounce-permanent.json")
    send = load_event("ses/publishing/send.json")
    path = write_lines(tmp_path / "two.jsonl", [bounce, send])
    stats = ingest_files([path], LocalLake(lake))
    assert stats.failed and stats.hard_bounces == 0
    assert "bounce" not in stats.rows_by_type


def test_binary_garbage_is_kept_as_base64(tmp_path: Path) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\xff\xfe\x00garbage")
    stats = ingest_files([path], LocalLake(tmp_path / "lake"))
    (entry,) = read_quarantine(tmp_path / "lake")
    assert stats.quarantined == 1 and entry["payload_encoding"] == "base64"


@pytest.mark.parametrize("recipients", [["A@Example.com", '"Jane" <Jane.Doe@EXAMPLE.com>']])
def test_recipients_are_bare_and_lowercase(tmp_path: Path, recipients: list[str]) -> None:
    send = load_event("ses/publishing/send.json")
    send["mail"]["destination"] = recipients
    ingest_files([write_lines(tmp_path / "s.json", [send])], LocalLake(tmp_path / "lake"))
    rows = read_events(tmp_path / "lake")
    assert [r["recipient"] for r in rows] == ["a@example.com", "jane.doe@example.com"]
    assert rows[0]["destination"] == ["a@example.com", "jane.doe@example.com"]


def test_events_land_in_the_utc_day_of_the_event_not_of_the_send(tmp_path: Path) -> None:
    delivery = load_event("ses/publishing/delivery.json")
    delivery["mail"]["timestamp"] = "2026-01-31T23:59:59.999Z"
    delivery["delivery"]["timestamp"] = "2026-02-01T01:30:00.000+02:00"  # 2026-01-31T23:30Z
    late = copy.deepcopy(delivery)
    late["delivery"]["timestamp"] = "2026-02-01T00:00:00.000Z"
    ingest_files([write_lines(tmp_path / "d.json", [delivery, late])], LocalLake(tmp_path / "l"))
    assert [r["dt"] for r in read_events(tmp_path / "l")] == ["2026-01-31", "2026-02-01"]


def test_unwritable_lake_fails_with_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")
    stats = ingest_files([SES / "publishing/send.json"], LocalLake(blocker))
    assert stats.rows == 0 and len(stats.failed) == 1
    assert "cannot write" in next(iter(stats.failed.values()))
