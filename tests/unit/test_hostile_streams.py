"""Hostile Firehose objects: bounded memory, linear time, every bad record accounted for.

Time and memory are shown by bench/hostile_bench.py; these tests check the mechanisms: how much
the parser is asked to read, how big what it hands on can get, what quarantine keeps.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from seslake import stream
from seslake.errors import InflationError
from seslake.ingest import MAX_QUARANTINED_PAYLOAD, Ingestor
from seslake.lake import LocalLake
from seslake.stream import CHUNK_SIZE, decompressed, split_json
from tests.conftest import SES, read_events, read_quarantine

RECORD = orjson.dumps(json.loads((SES / "publishing" / "delivery.json").read_text()))


def records(count: int) -> list[bytes]:
    return [RECORD.replace(b"EXAMPLE7c191be45", b"%016d" % i, 1) for i in range(count)]


def ingest(tmp_path: Path, data: bytes) -> tuple[Ingestor, Path]:
    lake = tmp_path / "lake"
    ingestor = Ingestor(LocalLake(lake))
    ingestor.add_stream([data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)], "o")
    ingestor.commit()
    return ingestor, lake


def test_records_back_to_back_are_parsed_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each record used to be taken off the front by parsing (and copying) all that followed."""
    parsed = 0
    real_loads = orjson.loads

    def counting_loads(data: Any) -> Any:
        nonlocal parsed
        parsed += len(data)
        return real_loads(data)

    monkeypatch.setattr(orjson, "loads", counting_loads)
    data = b"".join(records(3000))  # about 4.5 MB on one line
    pieces = list(split_json([data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]))
    assert len(pieces) == 3000 and all(p.error is None for p in pieces)
    assert parsed < 4 * len(data)  # was about len(data) * records / 2


def test_a_leading_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    signed = (SES / "envelopes" / "sns-http-notification.json").read_bytes()
    ingestor, lake = ingest(tmp_path, b"\xef\xbb\xbf" + signed)
    assert ingestor.stats.quarantined == 0 and len(read_events(lake)) >= 1


def test_gzip_inflates_a_chunk_at_a_time_and_a_bomb_is_refused() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(256)) + bomb.flush()
    assert len(data) < 300_000
    inflated = 0
    with pytest.raises(InflationError, match="not an SES export"):
        for chunk in decompressed([data]):
            assert len(chunk) <= CHUNK_SIZE
            inflated += len(chunk)
    assert inflated < 64 << 20  # given up on long before its 256 MB


def test_a_bomb_becomes_quarantine_entries_not_gigabytes(tmp_path: Path) -> None:
    data = gzip.compress(b"{}\n" * 300_000, compresslevel=9)
    ingestor, lake = ingest(tmp_path, data)
    entries = read_quarantine(lake)
    assert ingestor.stats.rows == 0
    # every `{}` is accounted for up to where reading stopped, in a couple of entries
    run, stop = entries
    assert run["count"] == run["last_line"] - run["line"] + 1 == 99_999
    assert "averaging 2 bytes" in stop["reason"] and "the rest is not read" in stop["reason"]
    assert sum(p.stat().st_size for p in (lake / "quarantine").iterdir()) < 10_000


def test_identical_bad_lines_collapse_and_different_ones_do_not(tmp_path: Path) -> None:
    data = b'{"not": "ses"}\n' * 5 + b'{"also": "not"}\n' + b'{"not": "ses"}\n'
    ingestor, lake = ingest(tmp_path, data)
    entries = read_quarantine(lake)
    assert [(e["line"], e.get("count", 1), e.get("last_line")) for e in entries] == [
        (1, 5, 5),
        (6, 1, None),
        (7, 1, None),
    ]
    assert ingestor.stats.quarantined == 7


def test_a_huge_line_is_one_entry_and_the_next_line_still_reads(tmp_path: Path) -> None:
    huge = b'{"eventType": "Send", "padding": "' + b"x" * (6 << 20)  # never closes
    ingestor, lake = ingest(tmp_path, huge + b"\n" + RECORD + b"\n")
    (entry,) = read_quarantine(lake)
    assert entry["reason"].startswith("a record longer than 4,194,304 bytes")
    assert len(entry["payload"]) <= MAX_QUARANTINED_PAYLOAD
    assert len(read_events(lake)) == 1  # the record after it


def test_long_payloads_are_truncated_with_length_and_digest(tmp_path: Path) -> None:
    junk = b"not json " + b"y" * (2 << 20)
    ingestor, lake = ingest(tmp_path, junk[: 3 << 20] + b"\n")
    entries = read_quarantine(lake)
    assert all(len(e["payload"]) <= MAX_QUARANTINED_PAYLOAD for e in entries)
    truncated = [e for e in entries if e.get("payload_truncated")]
    assert truncated and truncated[0]["payload_bytes"] > MAX_QUARANTINED_PAYLOAD
    assert len(truncated[0]["payload_sha256"]) == 64


def test_a_run_of_junk_lines_is_reported_in_bounded_pieces() -> None:
    lines = [b"junk line %06d " % i + b"z" * 200 for i in range(20_000)]  # about 4.3 MB
    pieces = list(split_json([b"\n".join(lines) + b"\n"]))
    assert all(p.error is not None for p in pieces)
    assert len(pieces) >= 4 and all(len(p.text) <= 2 * stream.MAX_JUNK_RUN for p in pieces)
    covered = sum(p.text.count(b"\n") + 1 for p in pieces)
    assert covered == len(lines)  # every line is in exactly one piece


def test_thousands_of_partitions_spill_within_a_few_open_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year's backfill object spans 3,650 (type, day) partitions; Lambda allows 1,024 open
    descriptors. Each spilled partition used to keep a temporary file open until commit."""
    import resource

    from seslake import writer

    monkeypatch.setattr(writer, "BUFFER_ROWS", 500)  # spill often
    template = json.loads(RECORD)
    lines, stamps = [], set()
    for day in range(1500):
        record = json.loads(json.dumps(template))
        stamp = f"{2020 + day // 365}-{1 + (day % 365) // 31:02d}-{1 + (day % 365) % 28:02d}"
        record["mail"]["timestamp"] = record["delivery"]["timestamp"] = f"{stamp}T10:00:00.000Z"
        record["mail"]["messageId"] = f"m-{day}"
        lines.append(orjson.dumps(record))
        stamps.add(stamp)
    data = b"\n".join(lines) * 2 + b"\n"  # every partition spilled at least twice
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_now = sum(1 for _ in Path("/proc/self/fd").iterdir())
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 64, hard))
    try:
        ingestor, lake = ingest(tmp_path, data)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert ingestor.stats.failed == {} and ingestor.stats.rows == 3000
    partitions = {p.parent.name for p in (lake / "ses_events").rglob("*.parquet")}
    assert partitions == {f"dt={stamp}" for stamp in stamps} and len(partitions) > 1000


def test_one_object_keeps_a_bounded_amount_of_payload_in_quarantine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seslake import ingest as ingest_module

    monkeypatch.setattr(ingest_module, "MAX_QUARANTINE_BYTES", 10_000)
    lines = [b'{"not": "ses %d", "pad": "%s"}' % (i, b"p" * 3000) for i in range(10)]
    ingestor, lake = ingest(tmp_path, b"\n".join(lines) + b"\n")
    entries = read_quarantine(lake)
    assert len(entries) == 10 and ingestor.stats.quarantined == 10  # every record is there
    kept = sum(len(e["payload"]) for e in entries)
    assert kept <= 10_000
    cut = [e for e in entries if e.get("payload_truncated")]
    assert cut and all(e["payload_bytes"] > len(e["payload"]) for e in cut)
    assert [e["line"] for e in entries] == list(range(1, 11))
