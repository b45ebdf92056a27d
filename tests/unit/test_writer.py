"""The writer's fast Arrow conversions give exactly what Arrow's generic conversion gives."""

from __future__ import annotations

import pyarrow as pa

from seslake.normalize import normalize
from seslake.schema import EVENT_COLUMNS, EVENT_SCHEMA
from seslake.writer import rows_to_table
from tests.conftest import SES, load_event


def sample_rows() -> list[list[object]]:
    rows = []
    for path in sorted((SES / "publishing").glob("*.json")) + sorted(
        (SES / "notifications").glob("*.json")
    ):
        _, found = normalize(load_event(str(path.relative_to(SES.parent))), "t", 1)
        rows += [row for _, row in found]
    return rows


def test_fast_conversions_equal_the_generic_one() -> None:
    rows = sample_rows()
    generic = pa.Table.from_arrays(
        [pa.array([r[i] for r in rows], c.arrow) for i, c in enumerate(EVENT_COLUMNS)],
        schema=EVENT_SCHEMA,
    )
    assert rows_to_table(rows).equals(generic)


def test_tags_of_event_publishing_only_take_the_map_fast_path() -> None:
    rows = [r for r in sample_rows() if r[[c.name for c in EVENT_COLUMNS].index("tags")]]
    table = rows_to_table(rows)
    assert table.column("tags").to_pylist()[0][0][0] == "ses:configuration-set"
    assert table.num_rows == len(rows) > 5


def test_empty_batch() -> None:
    assert rows_to_table([]).num_rows == 0
