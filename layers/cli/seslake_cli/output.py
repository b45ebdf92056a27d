"""Query results for people and for programs: an aligned table, CSV or JSON lines."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Maps as dicts (Arrow gives them as lists of key/value pairs)."""
    return [
        {
            k: dict(v) if isinstance(v, list) and v and isinstance(v[0], tuple) else v
            for k, v in row.items()
        }
        for row in rows
    ]


def render(table: pa.Table, fmt: str) -> str:
    """The table as `table` (aligned, for a terminal), `csv` (header, then rows) or `json`
    (one object per line)."""
    rows = _plain(table.to_pylist())
    if fmt == "json":
        return "".join(
            orjson.dumps(row, default=_json_default, option=orjson.OPT_APPEND_NEWLINE).decode()
            for row in rows
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in rows:
            writer.writerow(
                [_cell(v) if not isinstance(v, float) else repr(v) for v in row.values()]
            )
        return out.getvalue()
    cells = [[_cell(v) if v is not None else "NULL" for v in row.values()] for row in rows]
    widths = [len(n) for n in table.column_names]
    for line in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, line, strict=True)]

    def fmt_line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    lines = [fmt_line(table.column_names), fmt_line(["-" * w for w in widths])]
    lines += [fmt_line(line) for line in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"
