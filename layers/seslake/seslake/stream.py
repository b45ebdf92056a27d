"""Split a byte stream of JSON values (a Kinesis Data Firehose object) into values, lazily.

Firehose objects hold SES records one after another: one per line (what SES writes), concatenated
with no separator at all (Firehose's default), with blank lines, or pretty-printed over many
lines; plain or gzip (detected by content, not by name). The stream is read chunk by chunk and
values are yielded as they complete, so memory stays flat whatever the object's size.

Every piece of the stream ends up in exactly one yielded `Piece`: a parsed value, or the bytes
that could not be parsed with the reason. Nothing is skipped silently but blank space and a
leading UTF-8 byte order mark (RFC 8259 section 8.1 lets a parser ignore it).

Hostile input costs bounded memory and linear time: gzip is inflated a chunk at a time and an
object inflating beyond `MAX_INFLATION` times its size is given up on (`InflationError`); a
record longer than `MAX_RECORD` is reported without being held (a Firehose record is at most
1,000 KiB: https://docs.aws.amazon.com/firehose/latest/dev/limits.html); records written back
to back are parsed one slice at a time; a run of lines that are not JSON is reported in pieces of
at most `MAX_JUNK_RUN` bytes.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import orjson

from .errors import InflationError

CHUNK_SIZE = 1 << 20
#: A line without a newline longer than this is consumed value by value as it grows.
LONG_LINE = 1 << 20
#: A pretty-printed value still open after this many bytes is given up on.
MAX_VALUE = 16 << 20
#: A single record on one line longer than this is reported, not read (4x Firehose's limit).
MAX_RECORD = 4 << 20
#: Consecutive lines that are not JSON are reported together, up to this many bytes a piece.
MAX_JUNK_RUN = 1 << 20
#: Gzip inflating to more than this many times its size (plus 16 MiB) is not an SES export:
#: SES records gzip about 20x (bench/hostile_bench.py measures the bench's traffic).
MAX_INFLATION = 100
_INFLATION_SLACK = 16 << 20
_BOM = b"\xef\xbb\xbf"

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
#: What decides where a value ends: its strings (brackets inside them do not count) and brackets.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SPACE = b" \t\r\n"
_TRAILING = "unexpected content after document"
_EOF = "unexpected end of data"


class _Failure(NamedTuple):
    """Why text does not parse, as plain values: a kept exception would hold the parser's frames
    (and the text) in a reference cycle, and ingest runs with the cycle collector paused."""

    msg: str
    pos: int
    text: str

    def __str__(self) -> str:
        return self.text


def _failure(exc: orjson.JSONDecodeError, offset: int = 0) -> _Failure:
    return _Failure(exc.msg, exc.pos + offset, str(exc))


class Piece(NamedTuple):
    """A value found in the stream (`error` is None) or bytes that are not one (`error` says why).

    `line` is the 1-based line where the piece starts. (A NamedTuple: one is made per record.)"""

    text: bytes
    line: int
    value: object = None
    error: str | None = None


def decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks as given, or gunzipped when the stream starts with the gzip magic number.

    Several gzip members one after another (what concatenating .gz files gives) all decode.
    A corrupt stream raises zlib.error after yielding what decoded before the damage; one that
    inflates beyond MAX_INFLATION times its size raises InflationError."""
    it = iter(chunks)
    first = b""
    for chunk in it:
        first += chunk
        if len(first) >= 2:
            break
    if first[:2] != b"\x1f\x8b":
        if first:
            yield first
        yield from it
        return
    gunzip = _Gunzip()
    yield from gunzip.feed(first)
    for chunk in it:
        yield from gunzip.feed(chunk)
    yield from gunzip.close()


class _Gunzip:
    """Gzip members one after another, inflated at most a chunk at a time."""

    def __init__(self) -> None:
        self.inflater = zlib.decompressobj(wbits=31)
        self.started = False  # the current member has received bytes
        self.compressed = self.inflated = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.compressed += len(data)
        while data:
            self.started = True
            yield from self._inflate(data)
            if not self.inflater.eof:
                return
            data, self.started = self.inflater.unused_data, False
            self.inflater = zlib.decompressobj(wbits=31)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        """All `data` inflates to, at most a chunk per call: a small input may inflate to
        gigabytes."""
        while True:
            out = self.inflater.decompress(data, CHUNK_SIZE)
            if out:
                self.inflated += len(out)
                if self.inflated > MAX_INFLATION * self.compressed + _INFLATION_SLACK:
                    raise InflationError(
                        f"gzip inflates over {MAX_INFLATION}x ({self.compressed:,} bytes to more"
                        f" than {self.inflated:,}): not an SES export (a decompression bomb?)"
                    )
                yield out
            data = self.inflater.unconsumed_tail
            if not data and len(out) < CHUNK_SIZE:
                return

    def close(self) -> Iterator[bytes]:
        tail = self.inflater.flush()
        if tail:
            yield tail
        if self.started and not self.inflater.eof:
            raise zlib.error("the gzip stream is truncated")


_BRACKETS = re.compile(rb"[\[\]{}]")


def _scan(text: bytes, stack: list[int]) -> bytes:
    """Follow the brackets of `text` (outside strings) on `stack`; its last significant byte."""
    bare = _STRING.sub(b'""', text)
    for match in _BRACKETS.finditer(bare):
        bracket = match.group()
        if bracket in (b"{", b"["):
            stack.append(bracket[0])
        elif stack:
            stack.pop()
        else:
            stack.append(-1)  # a closer with no opener: never closes (parsed, then reported)
    return bare.rstrip()[-1:]


#: Makes a Piece from its fields without the Python-level `__new__` (one per record).
_new_tuple = tuple.__new__
#: A reader tried first on each one-line piece: its value, or None to parse it as JSON.
Decode = Callable[[bytes], object | None]


class JsonSplitter:
    """Feed bytes in, get `Piece`s out; call `close()` at the end of the stream.

    With `decode`, each line holding one value is offered to it first: what it returns is the
    piece's value (the ingest core reads SES records into types this way)."""

    def __init__(self, decode: Decode | None = None) -> None:
        self._decode = decode
        self._carry = b""
        self._carry_line = 1
        self._line = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._pending_line = 0
        self._open: list[int] = []  # brackets open in the pending value, innermost last
        self._last = b""  # its last significant byte so far
        self._junk: list[bytes] = []  # consecutive lines that are not JSON
        self._junk_size = 0
        self._junk_line = 0
        self._junk_error = ""
        self._skipping = False  # inside a line too long to read: dropped up to its newline

    def feed(self, chunk: bytes) -> Iterator[Piece]:
        if self._skipping:
            end = chunk.find(b"\n")
            if end == -1:
                return
            self._skipping = False
            self._line += 1
            chunk = chunk[end + 1 :]
        lines = (self._carry + chunk).split(b"\n")
        self._carry = lines.pop()
        decode = self._decode
        for line in lines:
            self._line += 1
            if decode is not None and not self._pending and not self._junk:
                # The common case, without the generators below: a line that is one record.
                text = line.strip()
                decoded = decode(text) if text else None
                if decoded is not None:
                    yield _new_tuple(Piece, (text, self._line, decoded, None))
                    continue
                yield from self._on_line(line, decoded=True)
            else:
                yield from self._on_line(line)
        self._carry_line = self._line + 1
        if len(self._carry) > LONG_LINE and not self._pending:
            yield from self._drain_long_line()
            if len(self._carry) > MAX_RECORD:
                yield from self._flush_junk()
                yield Piece(
                    self._carry[:MAX_JUNK_RUN],
                    self._carry_line,
                    error=f"a record longer than {MAX_RECORD:,} bytes (not read; its first"
                    f" {MAX_JUNK_RUN:,} bytes kept): skipped to the end of its line",
                )
                self._carry, self._skipping = b"", True

    def close(self) -> Iterator[Piece]:
        if self._skipping:
            self._line += 1
        if self._carry:
            self._line += 1
            carry, self._carry = self._carry, b""
            yield from self._on_line(carry)
        if self._pending:
            yield self._give_up("cut off: the stream ended inside a JSON value")
        yield from self._flush_junk()

    def _flush_junk(self) -> Iterator[Piece]:
        if self._junk:
            last = self._junk_line + len(self._junk) - 1
            span = f"line {last}" if last == self._junk_line else f"lines {self._junk_line}-{last}"
            yield Piece(
                b"\n".join(self._junk),
                self._junk_line,
                error=f"not JSON ({span}): {self._junk_error}",
            )
            self._junk, self._junk_size = [], 0

    def _on_line(self, line: bytes, decoded: bool = False) -> Iterator[Piece]:
        """One line; `decoded`: `decode` already declined it."""
        if self._pending:
            if line[:1] in (b"{", b"[") and not self._expects_value():
                # A value starting at column 0 where none can go is a new record: the open
                # one was cut off.
                yield self._give_up("cut off: a JSON value never closed before the next one")
            else:
                self._extend(line)
                if not self._open or self._open[0] == -1:
                    text = b"\n".join(self._pending)
                    first_line = self._pending_line
                    self._reset()
                    yield from self._pieces(text.strip(), first_line)
                elif self._pending_size > MAX_VALUE:
                    yield self._give_up(f"a JSON value still open after {MAX_VALUE} bytes")
                return
        text = line.strip()
        if text:
            yield from self._pieces(text, self._line, decoded)
        elif self._junk:
            self._add_junk(line)

    def _extend(self, line: bytes) -> None:
        self._pending.append(line)
        self._pending_size += len(line) + 1
        self._last = _scan(line, self._open) or self._last

    def _expects_value(self) -> bool:
        """Whether the pending value can go on with a value here: after a colon, or after an
        opening bracket or a comma inside an array (pretty-printed without indentation, the
        objects of an array start at column 0)."""
        if self._last == b":":
            return True
        return self._last in (b"[", b",") and bool(self._open) and self._open[-1] == ord("[")

    def _reset(self) -> None:
        self._pending, self._pending_size, self._open, self._last = [], 0, [], b""

    def _give_up(self, reason: str) -> Piece:
        piece = Piece(b"\n".join(self._pending), self._pending_line, error=reason)
        self._reset()
        return piece

    def _pieces(self, text: bytes, line: int, decoded: bool = False) -> Iterator[Piece]:
        """Values in one complete line (or a closed multi-line value): splits concatenations.
        `decoded`: `decode` already declined it."""
        if self._decode is not None and not decoded:
            value = self._decode(text)
            if value is not None:
                yield from self._flush_junk()
                yield Piece(text, line, value)
                return
        try:  # most lines hold exactly one record
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            yield from self._flush_junk()
            yield Piece(text, line, value)
            return
        values, rest, exc = _leading_values(text)
        for head, value in values:
            yield from self._flush_junk()
            yield Piece(head, line, value)
        if exc is None:
            return
        if exc.msg.startswith(_EOF) and rest[:1] in (b"{", b"["):
            yield from self._flush_junk()
            self._reset()
            self._pending_line = line
            self._extend(rest)
            return
        if self._junk and (
            self._junk_line + len(self._junk) != line or self._junk_size >= MAX_JUNK_RUN
        ):
            yield from self._flush_junk()
        if not self._junk:
            self._junk_line, self._junk_error = line, str(exc)
        self._add_junk(rest)

    def _add_junk(self, text: bytes) -> None:
        self._junk.append(text)
        self._junk_size += len(text) + 1

    def _drain_long_line(self) -> Iterator[Piece]:
        """Take the complete values off the front of a very long line (concatenated records)."""
        text = self._carry.lstrip()
        while text:
            values, text, exc = _leading_values(text)
            for head, value in values:
                yield Piece(head, self._carry_line, value)
            if exc is None or exc.msg.startswith(_EOF):
                break  # all taken, or the value goes on in the next chunk
            cut = text.find(b'{"', max(exc.pos, 1))
            if cut == -1:
                break
            yield Piece(text[:cut], self._carry_line, error=f"not JSON: {exc}")
            text = text[cut:]
        self._carry = text


def _leading_values(text: bytes) -> tuple[list[tuple[bytes, object]], bytes, _Failure | None]:
    """The complete values at the front of `text` (values written back to back split apart),
    what is left, and why what is left does not parse (None when nothing is left).

    Linear in `text`: each object or array is parsed from its own slice, found by following its
    brackets, so what follows it is neither re-parsed nor copied per value."""
    values: list[tuple[bytes, object]] = []
    view, size, pos = memoryview(text), len(text), 0
    while True:
        while pos < size and text[pos] in _SPACE:
            pos += 1
        if pos == size:
            return values, b"", None
        end = _value_end(text, pos) if text[pos] in b"{[" else None
        if end is None:
            # Not a closed object or array: parse what is left, once (a value still open, a
            # scalar, or junk), so the reason is the parser's own.
            try:
                value = orjson.loads(view[pos:])
            except orjson.JSONDecodeError as exc:
                failure = _failure(exc)
            else:
                values.append((text[pos:], value))
                return values, b"", None
            if failure.msg.startswith(_TRAILING) and failure.pos > 0:
                head = text[pos : pos + failure.pos]
                values.append((head, orjson.loads(head)))
                pos += failure.pos
                continue
            return values, text[pos:], failure
        try:
            value = orjson.loads(view[pos:end])
        except orjson.JSONDecodeError as exc:
            return values, text[pos:], _failure(exc)
        values.append((text[pos:end], value))
        pos = end


def _value_end(text: bytes, start: int) -> int | None:
    """Where the object or array starting at `start` ends (None: it does not, in `text`)."""
    depth = 0
    for match in _TOKEN.finditer(text, start):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                return match.end()
    return None


def split_json(chunks: Iterable[bytes], decode: Decode | None = None) -> Iterator[Piece]:
    """Every value (or unparseable piece) in a stream of possibly gzipped JSON values; `decode`
    reads one-line values first (see JsonSplitter)."""
    splitter = JsonSplitter(decode)
    for chunk in _without_bom(decompressed(chunks)):
        yield from splitter.feed(chunk)
    yield from splitter.close()


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stream less a leading UTF-8 byte order mark (as Windows tools write)."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= len(_BOM):
            break
    yield head.removeprefix(_BOM)
    yield from it
