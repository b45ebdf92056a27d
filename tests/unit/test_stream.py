"""Firehose objects: every layout of JSON values, plain or gzip, split lazily and losslessly."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from seslake import stream
from seslake.stream import Piece, split_json
from tests.conftest import SES

SEND = (SES / "publishing/send.json").read_bytes()
CLICK = (SES / "publishing/click.json").read_bytes()
COMPACT = [json.dumps(json.loads(b), separators=(",", ":")).encode() for b in (SEND, CLICK)]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def values(data: bytes, size: int = 7) -> list[Piece]:
    return list(split_json(chunked(data, size)))


def event_types(pieces: list[Piece]) -> list[str]:
    return [p.value["eventType"] for p in pieces if p.error is None]  # type: ignore[index]


@pytest.mark.parametrize("size", [1, 5, 64, 1 << 20])
def test_newline_delimited_any_chunking(size: int) -> None:
    data = b"\n".join(COMPACT * 3) + b"\n"
    assert event_types(values(data, size)) == ["Send", "Click"] * 3


def test_concatenated_without_separator() -> None:
    assert event_types(values(b"".join(COMPACT * 2))) == ["Send", "Click"] * 2


def test_blank_lines_and_crlf() -> None:
    data = b"\r\n\r\n" + COMPACT[0] + b"\r\n\n\n  \n" + COMPACT[1] + b"\r\n"
    assert event_types(values(data)) == ["Send", "Click"]


def test_pretty_printed_over_many_lines() -> None:
    data = SEND + b"\n" + CLICK + b"\n" + COMPACT[0]
    pieces = values(data)
    assert [p.error for p in pieces] == [None, None, None]
    assert event_types(pieces) == ["Send", "Click", "Send"]
    assert [p.line for p in pieces] == [1, SEND.count(b"\n") + 2, data.count(b"\n") + 1]


def test_pretty_printed_with_indented_closing_brace() -> None:
    # notifications/bounce.json ends with " }" indented: a common hand-edited shape.
    data = (SES / "notifications/bounce.json").read_bytes() + b"\n" + COMPACT[0]
    assert [p.error for p in values(data)] == [None, None]


def test_pretty_printed_without_indentation() -> None:
    """json.dumps(indent=0): objects inside arrays start at column 0 too, like a new record."""
    bounce = json.loads((SES / "publishing/bounce-permanent.json").read_bytes())
    bounce["bounce"]["bouncedRecipients"] *= 2  # two objects in an array, each at column 0
    data = b"\n".join(json.dumps(r, indent=0).encode() for r in (bounce, json.loads(SEND)))
    assert b"\n{\n" in data  # the shape that looked like a new record
    pieces = values(data)
    assert [p.error for p in pieces] == [None, None]
    assert event_types(pieces) == ["Bounce", "Send"]


def test_cut_off_inside_an_array_of_objects_then_a_new_record() -> None:
    bounce = json.dumps(
        json.loads((SES / "publishing/bounce-permanent.json").read_bytes()), indent=0
    )
    cut = bounce[: bounce.index('"emailAddress"')].rstrip()  # ends inside the array's object
    data = cut.encode() + b"\n" + COMPACT[1] + b"\n" + COMPACT[0]
    pieces = values(data)
    assert event_types(pieces) == ["Click", "Send"]
    assert [str(p.error)[:7] for p in pieces if p.error] == ["cut off"]


@pytest.mark.parametrize("name", ["batch.gz", "batch.json"])
def test_gzip_detected_by_content_not_name(name: str) -> None:
    data = gzip.compress(b"\n".join(COMPACT) + b"\n")
    assert event_types(values(data, 3)) == ["Send", "Click"]


def test_concatenated_gzip_members() -> None:
    data = gzip.compress(COMPACT[0] + b"\n") + gzip.compress(COMPACT[1] + b"\n")
    assert event_types(values(data, 11)) == ["Send", "Click"]


def test_truncated_gzip_raises_after_the_good_records() -> None:
    data = gzip.compress(b"\n".join(COMPACT * 200))
    seen: list[Piece] = []
    import zlib

    with pytest.raises(zlib.error):
        for piece in split_json(chunked(data[: len(data) // 2], 512)):
            seen.append(piece)
    assert len(seen) > 0 and all(p.error is None for p in seen)


def test_bad_line_between_good_ones_costs_nothing_around_it() -> None:
    data = COMPACT[0] + b"\nthis is not json\n" + COMPACT[1] + b"\n"
    pieces = values(data)
    assert event_types(pieces) == ["Send", "Click"]
    bad = [p for p in pieces if p.error]
    assert len(bad) == 1 and bad[0].text == b"this is not json" and bad[0].line == 2
    assert str(bad[0].error).startswith("not JSON (line 2)")


def test_cut_off_record_in_the_middle_is_quarantined_and_the_next_one_kept() -> None:
    data = COMPACT[0][:100] + b"\n" + COMPACT[1] + b"\n"
    pieces = values(data)
    assert event_types(pieces) == ["Click"]
    bad = [p for p in pieces if p.error]
    assert bad[0].text == COMPACT[0][:100] and str(bad[0].error).startswith("cut off")


def test_cut_off_at_the_end_of_the_stream() -> None:
    pieces = values(COMPACT[0] + b"\n" + COMPACT[1][:50])
    assert event_types(pieces) == ["Send"]
    assert (
        str(pieces[-1].error).startswith("cut off: the stream ended")
        and pieces[-1].text == COMPACT[1][:50]
    )


def test_garbage_after_a_value_on_one_line() -> None:
    pieces = values(COMPACT[0] + b" trailing junk\n" + COMPACT[1])
    assert event_types(pieces) == ["Send", "Click"]
    assert [p.text for p in pieces if p.error] == [b"trailing junk"]


def test_very_long_concatenated_line_is_consumed_as_it_grows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "LONG_LINE", 4096)
    data = b"".join(COMPACT * 500)
    splitter = stream.JsonSplitter()
    yielded_before_end = 0
    for chunk in chunked(data, 2048):
        yielded_before_end += len(list(splitter.feed(chunk)))
        assert len(splitter._carry) < 4096 + 2048 + len(COMPACT[1])  # memory stays bounded
    rest = list(splitter.close())
    assert yielded_before_end > 900
    assert yielded_before_end + len(rest) == 1000


def test_junk_inside_a_very_long_line_is_cut_out_and_the_rest_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "LONG_LINE", 4096)
    data = b"".join(COMPACT * 150) + b"<html>oops</html>" + b"".join(COMPACT * 150)
    pieces = values(data, 2048)
    assert len(event_types(pieces)) == 600
    assert [p.text for p in pieces if p.error] == [b"<html>oops</html>"]
    assert b"".join(p.text for p in pieces) == data


def test_every_byte_is_accounted_for() -> None:
    data = b"\n".join([COMPACT[0], b"{oops", COMPACT[1], b"[1,2", b"", b"null", COMPACT[0]])
    pieces = values(data, 3)
    kept = b"".join(p.text for p in pieces)
    assert kept.replace(b"\n", b"") == data.replace(b"\n", b"")
