"""SES timestamps to UTC epoch milliseconds.

SES and the envelopes around it write ISO 8601 in several forms: with or without fractions (1 to
9 digits), with `Z`, with a numeric offset (`-05:00`, `+0000`) or with a space before the offset
(`2018-10-08T14:05:45 +0000`). All become integer milliseconds since the epoch, UTC, truncated
(never rounded) to the millisecond.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from seslake.errors import BadRecordError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Anything fromisoformat may refuse on older Pythons: a space before the offset, more than six
# fraction digits, an offset without a colon.
_LOOSE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_day_cache: dict[int, str] = {}
#: The instants a partition day (and an Athena timestamp) can hold: years 1 to 9999, UTC.
_MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MS


def to_epoch_ms(value: object, field: str) -> int:
    """Parse an SES timestamp into epoch milliseconds (UTC); BadRecordError names the field."""
    if not isinstance(value, str) or not value:
        raise BadRecordError(f"{field}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_loose(value, field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # (parsed - _EPOCH) // _MS, exactly (a timedelta's seconds and microseconds are never
    # negative, so this floors as // does), at a third of the cost: this runs twice a record.
    delta = parsed - _EPOCH
    epoch_ms: int = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    if not _MIN_MS <= epoch_ms <= _MAX_MS:
        raise BadRecordError(f"{field}: {value!r} is out of range once in UTC (years 1 to 9999)")
    return epoch_ms


def _parse_loose(value: str, field: str) -> datetime:
    m = _LOOSE.match(value.strip())
    if m is None:
        raise BadRecordError(f"{field}: not an ISO 8601 timestamp: {value!r}")
    day, clock, fraction, offset = m.groups()
    text = f"{day}T{clock}"
    if fraction:
        text += "." + (fraction + "000000")[:6]
    if offset and offset not in ("Z", "z"):
        digits = offset[1:].replace(":", "")
        text += f"{offset[0]}{digits[:2]}:{(digits[2:] or '00')}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRecordError(f"{field}: not a valid timestamp: {value!r} ({exc})") from None
    return parsed if offset and offset not in ("Z", "z") else parsed.replace(tzinfo=UTC)


def utc_day(epoch_ms: int) -> str:
    """The UTC date (`YYYY-MM-DD`) of an epoch-milliseconds instant."""
    days = epoch_ms // 86_400_000
    text = _day_cache.get(days)
    if text is None:
        text = (date(1970, 1, 1) + timedelta(days=days)).isoformat()
        _day_cache[days] = text
    return text


def iso_ms(epoch_ms: int) -> str:
    """Epoch milliseconds back to `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
