"""One registry of SES event types (schema.EVENT_TYPE_REGISTRY): every other list of them is
derived from it, and the one in SQL (recipient_journey's lifecycle rank) is checked against it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from seslake.schema import (
    EVENT_TYPE_NAMES,
    EVENT_TYPE_REGISTRY,
    EVENT_TYPES,
    EVENTBRIDGE_DETAIL_TYPES,
    NOTIFICATION_TYPE_NAMES,
    PAYLOAD_KEYS,
)

JOURNEY = Path(__file__).resolve().parents[2] / "athena" / "views" / "recipient_journey.sql"


def test_the_journeys_lifecycle_rank_is_the_registrys_order() -> None:
    sql = JOURNEY.read_text()
    block = sql[sql.index("case event_type") : sql.index("end as lifecycle_rank")]
    ranks = [(name, int(rank)) for name, rank in re.findall(r"when '(\w+)' then (\d+)", block)]
    assert ranks == [(t.name, i) for i, t in enumerate(EVENT_TYPE_REGISTRY, start=1)]


def test_every_name_of_every_type_maps_back_to_it() -> None:
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPE_REGISTRY) == 10
    for kind in EVENT_TYPE_REGISTRY:
        assert EVENT_TYPE_NAMES[kind.event_type] == kind.name
        assert EVENT_TYPE_NAMES[EVENTBRIDGE_DETAIL_TYPES[kind.detail_type]] == kind.name
        assert PAYLOAD_KEYS[kind.name] == kind.payload_key
    assert NOTIFICATION_TYPE_NAMES == {
        "Bounce": "bounce",
        "Complaint": "complaint",
        "Delivery": "delivery",
    }
    assert PAYLOAD_KEYS["rendering_failure"] == "failure"  # SES's own key for it


def test_the_row_layouts_between_them_fill_every_column_once_per_type() -> None:
    from seslake.schema import EVENT_COLUMN_NAMES, ROW_COLUMNS, ROW_LAYOUTS

    assert ROW_LAYOUTS.keys() == set(EVENT_TYPES)
    for name, layout in ROW_LAYOUTS.items():
        assert len(set(layout)) == len(layout), name
        assert layout[: len(ROW_COLUMNS)] == ROW_COLUMNS
        assert set(layout) <= set(EVENT_COLUMN_NAMES), name
    assert {c for layout in ROW_LAYOUTS.values() for c in layout} == set(EVENT_COLUMN_NAMES)


def test_the_general_reading_fills_no_column_outside_its_types_layout() -> None:
    """normalize's rows are narrowed to the layout: a value outside it would be lost."""
    from seslake.normalize import as_event, normalize
    from tests.conftest import SES

    seen = set()
    for path in sorted(SES.glob("*/*.json")):
        if path.parent.name == "receiving":  # not sending events
            continue
        record = json.loads(path.read_text())
        if "mail" not in record:
            continue
        event_type, rows = normalize(record, "t", 0)
        event = as_event(event_type, rows)  # raises on a value outside the layout
        assert len(event[3]) == len(rows)
        seen.add(event_type)
    assert seen == set(EVENT_TYPES)
