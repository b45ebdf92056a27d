"""A question about some days reads those days: filters on dt and event_type reach the scan
through ses_events_unique's window (they are its partition keys), as DuckDB's plan shows. Trino
pushes predicates on a window's partition keys below it the same way (docs/views.md)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.sql.builder import LakeBuilder


def test_filters_on_dt_and_event_type_reach_the_parquet_scan(tmp_path: Path) -> None:
    lake = LakeBuilder(tmp_path)
    for day in range(1, 8):
        message = lake.message(f"m{day}", [f"r{day}@x.com"], f"2026-03-0{day}T10:00:00Z")
        message.send()
        message.delivery(f"r{day}@x.com", f"2026-03-0{day}T10:00:05Z")
    engine = lake.engine()
    sql = (
        "select count(*) from ses_events_unique "
        "where dt >= '2026-03-06' and event_type = 'delivery'"
    )
    plan = engine.connection.execute(f"explain {sql}").fetchall()[0][1]
    scan = plan[plan.index("READ_PARQUET") :]
    assert "(dt >= '2026-03-06')" in scan and "(event_type = 'delivery')" in scan
    read, total = map(int, re.search(r"Scanning Files: (\d+)/(\d+)", scan).groups())  # type: ignore[union-attr]
    assert (read, total) == (2, 14)  # two days of deliveries out of 7 days x 2 types
    assert engine.query(sql).column(0).to_pylist() == [2]
