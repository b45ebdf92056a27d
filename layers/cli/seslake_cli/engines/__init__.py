"""Query engines: DuckDB over a local lake (`local.LocalAthena`), or a deployed stack's Athena
(`athena.AthenaEngine`). The commands ask either through `Engine`."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from seslake.views import View


class Engine(Protocol):
    """What the commands need of an engine: the views it knows, a query, a table's columns."""

    views: list[View]

    def query(self, sql: str) -> pa.Table:
        """Run one Athena (Trino) SQL statement; the answer as an Arrow table."""
        ...

    def columns(self, table: str) -> list[str]:
        """The column names of a table or view, in order."""
        ...

    def close(self) -> None:
        """Release what the engine holds."""
        ...
