"""The Athena views in athena/views/: reading them, their dependency order, their expansion.

The .sql files are the single source of truth for every view, in Athena engine v3 (Trino) SQL.
This module has no dependency beyond the standard library, so the function that creates the
views in Athena can use it as well as the local engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SeslakeError

#: Where the view files live in a checkout (the layer and the package carry a copy).
_CANDIDATES = (
    Path(__file__).resolve().parent / "sql" / "views",  # a link to athena/, in the layer
    Path(__file__).resolve().parents[3] / "athena" / "views",
)

#: Marks where the company's own ses_requests columns go in a view: `/* seslake:internal-columns
#: <alias> */`. The file is valid SQL as written; creating the view lists the extra columns there.
_INTERNAL_MARKER = re.compile(r"/\*\s*seslake:internal-columns\s+(\w+)\s*\*/")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_CREATE = re.compile(r"^\s*create\s+or\s+replace\s+view\s+(\w+)\s+as\s", re.IGNORECASE)

#: What a column name may be (Glue's rule), so it can be quoted in SQL without escaping.
_IDENTIFIER = re.compile(r"[a-z0-9_]{1,255}")

#: ses_requests columns the views name explicitly; the marker lists the others.
KNOWN_REQUEST_COLUMNS = (
    "message_id",
    "recipient",
    "request_time",
    "region",
    "loaded_at",
    "loaded_from",
)


class ViewError(SeslakeError):
    """A view file is malformed, or the views depend on each other in a cycle."""


@dataclass(frozen=True)
class View:
    """One view: its name and its `create or replace view` statement."""

    name: str
    sql: str

    @property
    def body(self) -> str:
        """The query after `as`: what the view selects."""
        text = _COMMENT.sub(" ", self.sql)
        match = _CREATE.match(text)
        if match is None:
            raise ViewError(f"{self.name}: does not start with `create or replace view`")
        return text[match.end() :].strip()

    def statement(self, request_columns: Iterable[str]) -> str:
        """The statement to run: from its `create` keyword on (Athena routes a statement by its
        first keyword; the opening comment stays in the file), internal columns listed."""
        text = expand(self.sql, request_columns)
        start = re.search(r"create\s+or\s+replace\s+view\s", text, re.IGNORECASE)
        if start is None:
            raise ViewError(f"{self.name}: does not start with `create or replace view`")
        return text[start.start() :]


def views_dir() -> Path:
    """The athena/views folder of this installation."""
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate.resolve()
    raise ViewError("athena/views not found next to the seslake package")


def load_views(directory: Path | None = None) -> list[View]:
    """Every view file of `directory`, checked and in dependency order."""
    folder = directory or views_dir()
    views = []
    for path in sorted(folder.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        match = _CREATE.match(_COMMENT.sub(" ", sql))
        if match is None:
            raise ViewError(f"{path}: must hold one `create or replace view {path.stem} as ...`")
        if match.group(1) != path.stem:
            raise ViewError(f"{path}: creates view {match.group(1)}, not {path.stem}")
        views.append(View(path.stem, sql))
    return dependency_order(views)


def references(view: View, names: Iterable[str]) -> set[str]:
    """Which of `names` the view's query reads (comments ignored)."""
    body = view.body
    return {n for n in names if n != view.name and re.search(rf"\b{re.escape(n)}\b", body)}


def dependency_order(views: Sequence[View]) -> list[View]:
    """Views ordered so each comes after every view it reads; ties by name."""
    by_name = {v.name: v for v in views}
    needs = {v.name: references(v, by_name) for v in views}
    ordered: list[View] = []
    done: set[str] = set()
    while len(ordered) < len(views):
        ready = sorted(n for n in by_name if n not in done and needs[n] <= done)
        if not ready:
            cycle = sorted(n for n in by_name if n not in done)
            raise ViewError(f"views depend on each other in a cycle: {', '.join(cycle)}")
        for name in ready:
            ordered.append(by_name[name])
            done.add(name)
    return ordered


def internal_columns(request_columns: Iterable[str]) -> list[str]:
    """The company's own ses_requests columns: all but the ones views name explicitly."""
    return [c for c in request_columns if c not in KNOWN_REQUEST_COLUMNS]


def expand(sql: str, request_columns: Iterable[str]) -> str:
    """The statement with its internal-columns marker replaced by the extra columns.

    A company column named like a name the view already uses (`x.name` or `as name`) is
    renamed `internal_<name>`, so the view never has two columns of one name.
    """
    extra = internal_columns(request_columns)
    for column in extra:
        # Names come from data (a Parquet file's columns): never pasted into SQL unchecked.
        if not _IDENTIFIER.fullmatch(column):
            raise ViewError(
                f"ses_requests has a column named {column!r}: column names must be lowercase"
                " letters, digits and underscores (as Glue requires); rename it and load again"
            )
    body = _COMMENT.sub(" ", sql).lower()
    taken = set(re.findall(r"\.(\w+)", body)) | set(re.findall(r"\bas\s+(\w+)", body))

    def listing(match: re.Match[str]) -> str:
        alias = match.group(1)
        parts = []
        for column in extra:
            name = f"internal_{column}" if column in taken else column
            parts.append(f', {alias}."{column}" as "{name}"')
        return "".join(parts)

    return _INTERNAL_MARKER.sub(listing, sql)
