"""The ingest core: payloads in any envelope -> rows in the lake, bad ones to quarantine.

Used by both Lambda functions and by `seslake ingest`. One `Ingestor` is one unit of work: feed
it payloads and streams, then `commit()` uploads the files and says which inputs failed.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from seslake.envelopes import Leaf, Unit, sns_message, unwrap
from seslake.errors import BadRecordError
from seslake.lake import Lake
from seslake.normalize import Event, as_event, normalize
from seslake.records import SesRecord, Typed, decode_line
from seslake.schema import FIRST_EVENT_DAY, MAX_FUTURE_MS, ROW_LAYOUTS
from seslake.stream import split_json
from seslake.timestamps import iso_ms, to_epoch_ms
from seslake.typed import rows as typed_rows
from seslake.writer import LakeWriter, Written

from .errors import InflationError

_I_BOUNCE_TYPE = ROW_LAYOUTS["bounce"].index("bounce_type")
_I_BOUNCE_SUBTYPE = ROW_LAYOUTS["bounce"].index("bounce_subtype")
_FIRST_EVENT_MS = to_epoch_ms(f"{FIRST_EVENT_DAY}T00:00:00Z", "FIRST_EVENT_DAY")
#: Quarantine reason prefix of a payload that broke the envelope walk or normalize in a way
#: they do not check for.
UNFORESEEN = "unforeseen error (a seslake bug; re-ingest once fixed) reading"
#: A stream whose records average under MIN_RECORD_BYTES after this many (checked every this
#: many) is not SES records: the smallest SES record is hundreds of bytes.
ABSURD_RECORDS = 100_000
MIN_RECORD_BYTES = 32
#: Payload bytes one unit of work (an object, an SQS batch) keeps in quarantine: past this, an
#: entry keeps the reason, where, length and digest, not the payload (ingest_s3 has 2 GB of
#: temporary storage, shared with the rows it spills).
MAX_QUARANTINE_BYTES = 256 << 20
#: A quarantined payload longer than this keeps its first bytes, its length and its SHA-256
#: (a Firehose record is at most 1,000 KiB, an SNS message 256 KiB: real records fit whole).
MAX_QUARANTINED_PAYLOAD = 1 << 20


@dataclass
class IngestStats:
    """Counts over a run: `records` are payloads read, good or bad."""

    files: int = 0
    records: int = 0
    rows: int = 0
    quarantined: int = 0
    files_written: int = 0
    hard_bounces: int = 0  # rows of Permanent bounces: what SES's bounce rate counts
    #: Records the types of records.py did not take, read the general way (normalize): a
    #: share that grows when SES adds a field the types do not declare yet.
    read_general: int = 0
    rows_by_type: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    failed: dict[str, str] = field(default_factory=dict)

    def add(self, other: IngestStats) -> None:
        """Count another run's figures in too (a backfill sums its objects')."""
        self.files += other.files
        self.records += other.records
        self.rows += other.rows
        self.quarantined += other.quarantined
        self.files_written += other.files_written
        self.hard_bounces += other.hard_bounces
        self.read_general += other.read_general
        self.rows_by_type.update(other.rows_by_type)
        self.quarantine_reasons.update(other.quarantine_reasons)
        self.failed.update(other.failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "rows": self.rows,
            "quarantined": self.quarantined,
            "files_written": self.files_written,
            "hard_bounces": self.hard_bounces,
            "read_general": self.read_general,
            "rows_by_type": dict(sorted(self.rows_by_type.items())),
            "failed": len(self.failed),
        }


class Ingestor:
    """Normalizes payloads into a LakeWriter and keeps the counts."""

    def __init__(self, lake: Lake, *, now_ms: int | None = None) -> None:
        self.lake = lake
        self.writer = LakeWriter(lake)
        self.stats = IngestStats()
        self.ingested_at = now_ms if now_ms is not None else int(time.time() * 1000)
        self._pending_records = 0
        self._pending_general = 0
        self._pending_reasons: Counter[str] = Counter()
        self._pending_hard_bounces: Counter[str] = Counter()  # by input identity
        self._run: _Run | None = None  # the last quarantine entry, while identical ones follow
        self._quarantine_bytes = 0  # payload bytes kept in quarantine by this unit of work

    def add_payload(self, text: bytes | str, origin: str, identity: str | None = None) -> None:
        """One JSON document: a Lambda event, an SNS notification, an SES record, ..."""
        unit = Unit(text, origin, identity or origin)
        head = text[:24]  # SNS writes `Type` first: then it is no use trying a bare record
        if not (b'"Type"' in head if isinstance(head, bytes) else '"Type"' in head):
            typed = decode_line(text)
            if typed is not None:
                self._add_typed(typed.record, typed.text, unit)
                return
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            self._quarantine(Leaf.bad(unit, f"not JSON: {exc}"))
            return
        if type(value) is dict and (message := sns_message(value)) is not None:
            typed = decode_line(message)  # the SNS notification of one record: the usual case
            if typed is not None:
                self._add_typed(typed.record, typed.text, unit)
                return
        self.add_value(value, unit, text)

    def add_value(self, value: object, unit: Unit, text: bytes | str | None = None) -> None:
        """A parsed JSON value from `unit` (what is quarantined if it is bad); `text` is the
        value's own JSON."""
        for leaf in self._unwrap(value, unit, text):
            self._add_leaf(leaf)

    def add_stream(
        self,
        chunks: Iterable[bytes],
        origin: str,
        identity: str | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        """A stream of JSON values (a Firehose object, a file), plain or gzip, read lazily."""
        whole = Unit(b"", origin, identity or origin)
        counted = _counting(chunks, on_bytes) if on_bytes else chunks
        last_line = pieces = piece_bytes = 0
        try:
            for piece in split_json(counted, decode_line):
                text, last_line, value, error = piece
                pieces += 1
                piece_bytes += len(text)
                if pieces % ABSURD_RECORDS == 0 and piece_bytes < MIN_RECORD_BYTES * pieces:
                    reason = (
                        f"{pieces:,} records averaging {piece_bytes / pieces:.0f} bytes by line"
                        f" {last_line}: not SES records (the smallest is hundreds of bytes);"
                        " the rest is not read"
                    )
                    self._quarantine(Leaf.bad(whole, reason))
                    break
                if self._run is not None and self._repeats_run(text, whole.identity, last_line):
                    continue
                unit = whole.holding(text)
                if error is not None:
                    self._quarantine(Leaf.bad(unit, error), line=last_line)
                elif type(value) is Typed:
                    self._add_typed(value[0], value[1], unit, last_line)
                else:
                    for leaf in self._unwrap(value, unit, text):
                        self._add_leaf(leaf, line=last_line)
        except InflationError as exc:
            reason = f"{exc}; not read after line {last_line}"
            self._quarantine(Leaf.bad(whole, reason))
        except zlib.error as exc:
            reason = f"corrupt gzip stream after line {last_line}: {exc}; the rest is unreadable"
            self._quarantine(Leaf.bad(whole, reason))
        self._end_run()

    def commit(self) -> Written:
        """Write what is buffered; the stats count only what was committed (or failed)."""
        self._end_run()
        written = self.writer.commit()
        self.stats.records += self._pending_records
        self.stats.read_general += self._pending_general
        self.stats.rows += written.rows
        self.stats.quarantined += written.quarantined
        self.stats.files_written += len(written.files)
        self.stats.rows_by_type.update(written.rows_by_type)
        if written.quarantined:
            self.stats.quarantine_reasons.update(self._pending_reasons)
        self.stats.failed.update(written.failed)
        self.stats.hard_bounces += sum(
            count
            for identity, count in self._pending_hard_bounces.items()
            if identity not in written.failed
        )
        self._pending_records = 0
        self._pending_general = 0
        self._pending_reasons = Counter()
        self._pending_hard_bounces = Counter()
        self._quarantine_bytes = 0
        return written

    @property
    def pending_rows(self) -> int:
        return self.writer.pending_rows

    @staticmethod
    def _unwrap(value: object, unit: Unit, text: bytes | str | None) -> list[Leaf]:
        try:
            return unwrap(value, unit, text)
        except Exception as exc:  # an envelope unwrap did not foresee: keep it, keep going
            reason = f"{UNFORESEEN} envelopes: {type(exc).__name__}: {exc}"
            return [Leaf.bad(unit, reason)]

    def _add_leaf(self, leaf: Leaf, line: int | None = None) -> None:
        if leaf.error is not None:
            self._quarantine(leaf, line)
        elif leaf.typed is not None:
            assert leaf.raw is not None
            self._add_typed(leaf.typed, leaf.raw, leaf.unit, line)
        else:
            assert leaf.record is not None
            self._add_record(leaf.record, leaf.raw, leaf.unit, line)

    def _add_typed(self, record: SesRecord, raw: str, unit: Unit, line: int | None = None) -> None:
        """A record read into types from its one-line text `raw`: its rows from the types when
        they suffice (typed.rows), else the general way from the text."""
        try:
            event = typed_rows(record, unit.origin, self.ingested_at, raw)
        except Exception as exc:  # a record typed.rows did not foresee: keep it, keep going
            reason = f"{UNFORESEEN} a record: {type(exc).__name__}: {exc}"
            self._quarantine(Leaf.bad(unit, reason), line)
            return
        if event is None:
            self._add_record(orjson.loads(raw), raw, unit, line)
        else:
            self._add_event(event, unit, line)

    def _add_record(
        self, record: dict[str, Any], raw: str | None, unit: Unit, line: int | None = None
    ) -> None:
        """A record read the general way (normalize)."""
        self._pending_general += 1
        try:
            event_type, rows = normalize(record, unit.origin, self.ingested_at, raw)
            event = as_event(event_type, rows)
        except BadRecordError as exc:
            self._quarantine(Leaf.bad(unit, str(exc)), line)
            return
        except Exception as exc:  # a record normalize did not foresee: keep it, keep going
            reason = f"{UNFORESEEN} a record: {type(exc).__name__}: {exc}"
            self._quarantine(Leaf.bad(unit, reason), line)
            return
        self._add_event(event, unit, line)

    def _add_event(self, event: Event, unit: Unit, line: int | None) -> None:
        event_type, dt, event_at, rows = event
        if not _FIRST_EVENT_MS <= event_at <= self.ingested_at + MAX_FUTURE_MS:
            self._quarantine(Leaf.bad(unit, self._outside_projection(event_type, event_at)), line)
            return
        self._pending_records += 1
        self.writer.add_rows(event_type, dt, rows, unit.identity)
        if event_type == "bounce":
            bounce_type, subtype = rows[0][_I_BOUNCE_TYPE], rows[0][_I_BOUNCE_SUBTYPE]
            if counts_in_ses_bounce_rate(bounce_type, subtype):
                self._pending_hard_bounces[unit.identity] += len(rows)

    @staticmethod
    def _outside_projection(event_type: str, event_at: int) -> str:
        """Why a record's rows would be written where Athena never reads."""
        return (
            f"{event_type} dated {iso_ms(event_at)}: outside the days Athena's"
            f" partition projection reads ({FIRST_EVENT_DAY} to a day after ingest; SES began in"
            " 2011, and a later time is a clock error)"
        )

    def _quarantine(self, leaf: Leaf, line: int | None = None) -> None:
        """Keep a bad payload with its reason. A run of identical ones on consecutive lines
        (a million `{}` lines) becomes one entry with its `count` and `last_line`."""
        assert leaf.error is not None
        self._pending_records += 1
        self._pending_reasons[_reason_kind(leaf.error)] += 1
        run, unit = self._run, leaf.unit
        if (
            run is not None
            and run.identity == unit.identity
            and run.entry["reason"] == leaf.error
            and run.unit == unit.text
            and line is not None
            and run.last_line is not None
            and line == run.last_line + 1
        ):
            run.count += 1
            run.last_line = line
            return
        self._end_run()
        entry: dict[str, Any] = {
            "reason": leaf.error,
            "origin": unit.origin,
            "line": line,
            "ingested_at": iso_ms(self.ingested_at),
        }
        entry.update(_payload_fields(unit.text, MAX_QUARANTINE_BYTES - self._quarantine_bytes))
        self._quarantine_bytes += len(entry["payload"])
        self._run = _Run(entry, unit.identity, unit.text, line)

    def _repeats_run(self, text: bytes, identity: str, line: int) -> bool:
        """Whether `text` repeats the quarantined record just before it: then it would be
        quarantined for the same reason, and only the run's count grows (a stream of a million
        identical bad lines costs a split each, not a normalize)."""
        run = self._run
        if run is None or run.identity != identity or run.last_line != line - 1:
            return False
        if run.unit != text:
            return False
        run.count += 1
        run.last_line = line
        self._pending_records += 1
        self._pending_reasons[_reason_kind(run.entry["reason"])] += 1
        return True

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        if run.count > 1:
            run.entry["count"] = run.count
            run.entry["last_line"] = run.last_line
        self.writer.quarantine(run.entry, run.identity, run.count)


@dataclass
class _Run:
    """A quarantine entry and the identical records that followed it."""

    entry: dict[str, Any]
    identity: str
    unit: bytes | str
    last_line: int | None
    count: int = 1


def counts_in_ses_bounce_rate(bounce_type: str | None, subtype: str | None) -> bool:
    """Whether SES counts a bounce row in its reputation bounce rate: a Permanent bounce, but
    not a send to an address on the account's own suppression list, which SES does not count
    (https://docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html); the view
    message_status.is_reputation_bounce is the same rule in SQL."""
    subtype = subtype or ""
    own_list = subtype.startswith("On") and subtype.endswith("SuppressionList")
    return bool(bounce_type == "Permanent" and not own_list)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during bulk ingest.

    Buffered rows are hundreds of thousands of small lists and strings with no reference
    cycles; the collector would walk them over and over (a third of the run time) and free
    nothing. Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _payload_fields(unit: bytes | str, room: int) -> dict[str, Any]:
    """The payload as a quarantine entry keeps it: whole, or cut to `room` bytes (at most
    MAX_QUARANTINED_PAYLOAD) with its length and digest, so what it was stays known."""
    data = unit.encode() if isinstance(unit, str) else unit
    fields: dict[str, Any] = {}
    keep = max(0, min(room, MAX_QUARANTINED_PAYLOAD))
    if len(data) > keep:
        fields = {
            "payload_truncated": True,
            "payload_bytes": len(data),
            "payload_sha256": hashlib.sha256(data).hexdigest(),
        }
        data = data[:keep]
    # A cut may split a UTF-8 character: up to three bytes less still decode.
    for end in range(len(data), max(len(data) - (4 if fields else 1), -1), -1):
        try:
            fields.update(payload=data[:end].decode("utf-8"), payload_encoding="utf-8")
            return fields
        except UnicodeDecodeError:
            continue
    fields.update(payload=base64.b64encode(data).decode(), payload_encoding="base64")
    return fields


def _reason_kind(reason: str) -> str:
    """A short, countable family of a quarantine reason (for logs and metrics)."""
    return re.split(r":| \(", reason, maxsplit=1)[0][:60]


def _counting(chunks: Iterable[bytes], on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    for chunk in chunks:
        on_bytes(len(chunk))
        yield chunk
