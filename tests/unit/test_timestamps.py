"""Every timestamp form in the samples, to UTC epoch milliseconds (truncated, not rounded)."""

from __future__ import annotations

import pytest

from seslake.errors import BadRecordError
from seslake.timestamps import iso_ms, to_epoch_ms, utc_day

BASE = 1_444_831_245_000  # 2015-10-14T14:00:45Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-10-14T14:00:45Z", BASE),
        ("2015-10-14T14:00:45.1Z", BASE + 100),
        ("2015-10-14T14:00:45.12Z", BASE + 120),
        ("2015-10-14T14:00:45.123Z", BASE + 123),
        ("2015-10-14T14:00:45.1239Z", BASE + 123),
        ("2015-10-14T14:00:45.123999Z", BASE + 123),
        ("2015-10-14T14:00:45.123456789Z", BASE + 123),
        ("2015-10-14T14:00:45 +0000", BASE),
        ("2015-10-14T16:00:45 +0200", BASE),
        ("2015-10-14T09:00:45.000-05:00", BASE),
        ("2015-10-14T14:00:45+00:00", BASE),
        ("2015-10-14T14:00:45", BASE),
    ],
)
def test_forms(text: str, expected: int) -> None:
    assert to_epoch_ms(text, "f") == expected


@pytest.mark.parametrize("bad", ["", "yesterday", "2015-13-45T00:00:00Z", None, 1444831245])
def test_bad_values_name_the_field(bad: object) -> None:
    with pytest.raises(BadRecordError, match="bounce.timestamp"):
        to_epoch_ms(bad, "bounce.timestamp")


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31 23:30 -0100"]
)
def test_instants_outside_the_calendar_once_in_utc_are_bad_records(text: str) -> None:
    """Valid ISO 8601, but year 0 or 10000 in UTC: no partition day, no Athena timestamp."""
    with pytest.raises(BadRecordError, match="delivery.timestamp: .* out of range"):
        to_epoch_ms(text, "delivery.timestamp")


def test_the_calendar_edges_themselves_are_fine() -> None:
    assert utc_day(to_epoch_ms("0001-01-01T00:00:00Z", "f")) == "0001-01-01"
    assert utc_day(to_epoch_ms("9999-12-31T23:59:59.999Z", "f")) == "9999-12-31"


def test_day_and_iso_round_trip() -> None:
    assert utc_day(BASE) == "2015-10-14"
    assert utc_day(BASE - 14 * 3_600_000 - 45_001) == "2015-10-13"
    assert iso_ms(BASE + 7) == "2015-10-14T14:00:45.007Z"
