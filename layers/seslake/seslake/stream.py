"""Split a byte stream of JSON values (a Kinesis Data Firehose object) into values, lazily.

Firehose objects hold SES records one after another: one per line (what SES writes), concatenated
with no separator at all (Firehose's default), with blank lines, or pretty-printed over many
lines; plain or gzip (detected by content, not by name). The stream is read chunk by chunk and
values are yielded as they complete, so memory stays flat whatever the object's size.

Every piece of the stream ends up in exactly one yielded `Piece`: a parsed value, or the bytes
that could not be parsed with the reason. Nothing is skipped silently but blank space.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

CHUNK_SIZE = 1 << 20
#: A line without a newline longer than this is consumed value by value as it grows.
LONG_LINE = 1 << 20
#: A pretty-printed value still open after this many bytes is given up on.
MAX_VALUE = 16 << 20

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_TRAILING = "unexpected content after document"
_EOF = "unexpected end of data"


@dataclass(frozen=True, slots=True)
class Piece:
    """A value found in the stream (`error` is None) or bytes that are not one (`error` says why).

    `line` is the 1-based line where the piece starts."""

    text: bytes
    line: int
    value: object = None
    error: str | None = None


def decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks as given, or gunzipped when the stream starts with the gzip magic number.

    Several gzip members one after another (what concatenating .gz files gives) all decode.
    A corrupt stream raises zlib.error after yielding what decoded before the damage."""
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
    inflater = zlib.decompressobj(wbits=31)
    started = False  # the current member has received bytes

    def inflate(data: bytes) -> Iterator[bytes]:
        nonlocal inflater, started
        while data:
            started = True
            out = inflater.decompress(data)
            if out:
                yield out
            if not inflater.eof:
                return
            data, started = inflater.unused_data, False
            inflater = zlib.decompressobj(wbits=31)

    yield from inflate(first)
    for chunk in it:
        yield from inflate(chunk)
    tail = inflater.flush()
    if tail:
        yield tail
    if started and not inflater.eof:
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


class JsonSplitter:
    """Feed bytes in, get `Piece`s out; call `close()` at the end of the stream."""

    def __init__(self) -> None:
        self._carry = b""
        self._carry_line = 1
        self._line = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._pending_line = 0
        self._open: list[int] = []  # brackets open in the pending value, innermost last
        self._last = b""  # its last significant byte so far
        self._junk: list[bytes] = []  # consecutive lines that are not JSON
        self._junk_line = 0
        self._junk_error = ""

    def feed(self, chunk: bytes) -> Iterator[Piece]:
        lines = (self._carry + chunk).split(b"\n")
        self._carry = lines.pop()
        for line in lines:
            self._line += 1
            yield from self._on_line(line)
        self._carry_line = self._line + 1
        if len(self._carry) > LONG_LINE and not self._pending:
            yield from self._drain_long_line()

    def close(self) -> Iterator[Piece]:
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
            self._junk = []

    def _on_line(self, line: bytes) -> Iterator[Piece]:
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
            yield from self._pieces(text, self._line)
        elif self._junk:
            self._junk.append(line)

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

    def _pieces(self, text: bytes, line: int) -> Iterator[Piece]:
        """Values in one complete line (or a closed multi-line value): splits concatenations."""
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
        if self._junk and self._junk_line + len(self._junk) != line:
            yield from self._flush_junk()
        if not self._junk:
            self._junk_line, self._junk_error = line, str(exc)
        self._junk.append(rest)

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


def _leading_values(
    text: bytes,
) -> tuple[list[tuple[bytes, object]], bytes, orjson.JSONDecodeError | None]:
    """The complete values at the front of `text` (values written back to back split apart),
    what is left, and why what is left does not parse (None when nothing is left)."""
    values: list[tuple[bytes, object]] = []
    while text:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if exc.msg.startswith(_TRAILING) and exc.pos > 0:
                head, text = text[: exc.pos], text[exc.pos :].lstrip()
                values.append((head, orjson.loads(head)))
                continue
            return values, text, exc
        values.append((text, value))
        break
    return values, b"", None


def split_json(chunks: Iterable[bytes]) -> Iterator[Piece]:
    """Every value (or unparseable piece) in a stream of possibly gzipped JSON values."""
    splitter = JsonSplitter()
    for chunk in decompressed(chunks):
        yield from splitter.feed(chunk)
    yield from splitter.close()
