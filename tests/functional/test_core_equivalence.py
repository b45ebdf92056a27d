"""The ingest core with its native decoder writes what the core before it wrote, file for file
and row for row; and a record read into types gives what the general reading gives, however
it is bent.

The reference (tests/data/core_reference.json, see tests/core_reference.py) was recorded by the
core before the decoder: every sample, every external payload (as a stream, as one payload and
as a Lambda event) and the benchmark's 100,000 events (SNS-wrapped, and as a Firehose object).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from seslake import envelopes, ingest
from seslake.ingest import Ingestor
from seslake.typed import rows
from tests import core_reference
from tests.conftest import SES

REFERENCE = json.loads(core_reference.REFERENCE.read_text())
GROUPS = dict(core_reference.inputs())
SAMPLE_GROUPS = [g for g in GROUPS if not g.startswith("bench ")]


def test_the_reference_covers_every_input_and_the_fast_path() -> None:
    assert set(GROUPS) == set(REFERENCE["groups"])
    assert REFERENCE["now_ms"] == core_reference.NOW_MS
    assert len(SAMPLE_GROUPS) > 250  # every sample, three ways (the Lambda events a third)


def test_every_sample_and_external_payload_writes_what_it_wrote_before(tmp_path: Path) -> None:
    differ = {}
    for number, group in enumerate(SAMPLE_GROUPS):
        found = core_reference.run(GROUPS[group], tmp_path / str(number))
        if found != REFERENCE["groups"][group]:
            differ[group] = found
    assert not differ, sorted(differ)


@pytest.mark.parametrize("group", ["bench sns", "bench firehose"])
def test_the_benchmarks_100000_events_write_what_they_wrote_before(
    group: str, tmp_path: Path
) -> None:
    found = core_reference.run(GROUPS[group], tmp_path)
    expected = REFERENCE["groups"][group]
    assert sum(f.get("rows", 0) for f in found.values()) >= core_reference.BENCH_EVENTS
    differ = sorted(k for k in expected.keys() | found.keys() if found.get(k) != expected.get(k))
    assert not differ, differ[:10]


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record read the general way (orjson, envelopes.unwrap, normalize)."""
    monkeypatch.setattr(ingest, "decode_line", lambda text: None)
    monkeypatch.setattr(envelopes, "decode_line", lambda text: None)


def _records() -> list[dict[str, Any]]:
    paths = sorted((SES / "publishing").glob("*.json")) + sorted(
        (SES / "notifications").glob("*.json")
    )
    return [orjson.loads(p.read_bytes()) for p in paths]


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: object) -> Mutation:
    def mutate(record: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        obj: Any = record
        for key in parents:
            obj = obj.get(key) if isinstance(obj, dict) else None
        if isinstance(obj, dict):
            obj[last] = value
        return record

    return mutate


def _payload_field(field: str, value: object) -> Mutation:
    """`field` of the record's own object (bounce, delivery, ...) set to `value`."""

    def mutate(record: dict[str, Any]) -> Any:
        for key, obj in record.items():
            if key not in ("mail", "eventType", "notificationType") and isinstance(obj, dict):
                obj[field] = value
        return record

    return mutate


#: Ways to bend a record that the typed reading must either read exactly as the general one, or
#: leave to it.
MUTATIONS: dict[str, Mutation] = {
    "as is": lambda r: r,
    "a number for a string": _set("mail.source", 5),
    "null source": _set("mail.source", None),
    "empty message id": _set("mail.messageId", ""),
    "numeric message id": _set("mail.messageId", 123),
    "no mail timestamp": _set("mail.timestamp", None),
    "offset timestamp": _set("mail.timestamp", "2016-10-14T05:02:16+02:00"),
    "nine-digit fraction": _set("mail.timestamp", "2016-10-14T05:02:16.123456789Z"),
    "bad timestamp": _set("mail.timestamp", "yesterday"),
    "out-of-range day": _set("mail.timestamp", "1999-01-01T00:00:00Z"),
    "named, uppercase destination": _set("mail.destination", ['"Jane" <Jane@Example.COM>']),
    "empty destination": _set("mail.destination", []),
    "blank address": _set("mail.destination", ["  "]),
    "destination not a list": _set("mail.destination", "a@example.com"),
    "tags of strings": _set("mail.tags", {"campaign": "spring"}),
    "tags null": _set("mail.tags", None),
    "tags with a number": _set("mail.tags", {"n": [1]}),
    "empty tag list": _set("mail.tags", {"ses:configuration-set": []}),
    "from as a string": _set("mail.commonHeaders.from", "a@example.com"),
    "from empty": _set("mail.commonHeaders.from", []),
    "subject a number": _set("mail.commonHeaders.subject", 7),
    "headers not a list": _set("mail.headers", {"name": "x"}),
    "a field SES added": _set("mail.newField", "x"),
    "an unknown field with a huge float": _set("mail.future", 1e308),
    "eventType null": _set("eventType", None),
    "unknown eventType": _set("eventType", "Teleport"),
    "payload field a number": _payload_field("timestamp", 1),
    "payload field null": _payload_field("timestamp", None),
    "processing time as text": _set("delivery.processingTimeMillis", "546"),
    "processing time as float": _set("delivery.processingTimeMillis", 5.0),
    "processing time huge": _set("delivery.processingTimeMillis", 2**63),
    "processing time bool": _set("delivery.processingTimeMillis", True),
    "bounced recipient without address": _set("bounce.bouncedRecipients", [{"status": "5.1.1"}]),
    "unsubscribeAll not a bool": _set(
        "subscription.newTopicPreferences", {"unsubscribeAll": "yes"}
    ),
    "topic preferences not an object": _set("subscription.newTopicPreferences", "x"),
    "link tags odd": _set("click.linkTags", {"a": "b"}),
    "complaint arrival null": _set("complaint.arrivalDate", None),
    "complaint arrival bad": _set("complaint.arrivalDate", "soon"),
}

#: Texts (not records) the two readings must treat alike: invalid UTF-8 and lone surrogates
#: where the typed reading does not look, numbers beyond a double, duplicate keys.
TEXT_MUTATIONS: dict[str, Callable[[str], bytes]] = {
    "invalid UTF-8 in a header": lambda t: (
        t.replace('"mail":{', '"mail":{"x":"\\u00e9",', 1).encode().replace(b"\\u00e9", b"\xc3")
    ),
    "lone surrogate escape": lambda t: t.replace('"mail":{', '"mail":{"x":"\\ud800",', 1).encode(),
    "number beyond a double": lambda t: t.replace('"mail":{', '"mail":{"x":1e999,', 1).encode(),
    "integer beyond 64 bits": lambda t: t.replace(
        '"mail":{', '"mail":{"x":1' + "0" * 25 + ",", 1
    ).encode(),
    "duplicate key, last wins": lambda t: t.replace(
        '"mail":{', '"mail":{"messageId":"first",', 1
    ).encode(),
    "pretty-printed": lambda t: json.dumps(json.loads(t), indent=1).replace("\n", " ").encode(),
}


def _lines() -> list[bytes]:
    lines = []
    for record in _records():
        for mutate in MUTATIONS.values():
            lines.append(orjson.dumps(mutate(copy.deepcopy(record))))
        text = orjson.dumps(record).decode()
        lines += [mutate_text(text) for mutate_text in TEXT_MUTATIONS.values()]
    return lines


def _sns(line: bytes) -> bytes:
    message = line.decode("utf-8", "replace")  # what an SNS envelope can carry
    return orjson.dumps({"Type": "Notification", "MessageId": "m", "Message": message})


def _summary(tmp_path: Path, feed: Callable[[Ingestor], None]) -> dict[str, Any]:
    summary = core_reference.run(feed, tmp_path)
    assert summary, "nothing written"
    return summary


@pytest.mark.parametrize("form", ["stream", "payloads", "sns"])
def test_bent_records_read_typed_or_general_give_the_same_rows_and_reasons(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _lines()

    def feed(ingestor: Ingestor) -> None:
        if form == "stream":
            ingestor.add_stream([b"\n".join(lines) + b"\n"], "bent", "bent")
        for number, line in enumerate(lines):
            if form == "payloads":
                ingestor.add_payload(line, f"line {number}")
            elif form == "sns":
                ingestor.add_payload(_sns(line), f"sns {number}")

    read_typed: list[object] = []

    def typed_rows(*args: Any) -> Any:
        read_typed.append(args[0])
        return rows(*args)

    with monkeypatch.context() as patch:
        patch.setattr(ingest, "typed_rows", typed_rows)
        typed = _summary(tmp_path / "typed", feed)
    assert len(read_typed) > len(lines) / 2  # most went the typed way
    with monkeypatch.context() as patch:
        _general_only(patch)
        general = _summary(tmp_path / "general", feed)
    assert typed == general
    assert any(k.startswith("quarantine/") for k in typed)  # some bends are refused
    assert sum(f.get("rows", 0) for f in typed.values()) > 2 * len(_records())


def test_the_records_read_the_general_way_are_counted(tmp_path: Path) -> None:
    """A record the types do not take (here a field SES does not document) is read the general
    way and counted (`read_general`, the ReadGeneral metric): what would show SES adding a
    field, as every record would then take the slower way."""
    from seslake.lake import LocalLake

    send = orjson.loads((SES / "publishing/send.json").read_bytes())
    added = copy.deepcopy(send)
    added["mail"]["fieldSesAddedSince"] = "x"
    ingestor = Ingestor(LocalLake(tmp_path))
    for number, record in enumerate([send, added, send]):
        ingestor.add_payload(orjson.dumps(record), f"line {number}")
    ingestor.commit()
    assert ingestor.stats.rows == 3 * len(send["mail"]["destination"])
    assert ingestor.stats.read_general == 1
    assert ingestor.stats.as_dict()["read_general"] == 1
