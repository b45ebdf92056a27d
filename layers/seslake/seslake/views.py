"""The Athena views in athena/views/: reading them, their dependency order, their expansion.

The .sql files are the single source of truth for every view, in Athena engine v3 (Trino) SQL.
This module has no dependency beyond the standard library, so the function that creates the
views in Athena can use it as well as the local engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import ViewError

#: Where the view files live: athena/views, linked into the package as sql/ (the layer and the
#: wheel carry a copy of its files).
_VIEWS = Path(__file__).resolve().parent / "sql" / "views"

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
    if _VIEWS.is_dir():
        return _VIEWS.resolve()
    raise ViewError(f"the view files are missing: {_VIEWS} is not a folder")


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


#: The table every view reads SES events from: a bounded question narrows it at the scan.
_EVENTS_TABLE = re.compile(r"\bses_events\b")
_REQUESTS_TABLE = re.compile(r"\bses_requests\b")
_WITH = re.compile(r"^\s*with\s", re.IGNORECASE)
_PARAMETERS = "seslake_bounds"

#: The views whose rows are (message, recipient) pairs with a sent_at: a bounded question with a
#: cohort keeps only the pairs sent within it there, and so in every view over them.
COHORT_VIEWS = ("message_status", "message_facts")


@dataclass(frozen=True)
class Scan:
    """Where a bounded question reads and what it counts.

    `events` replaces the `ses_events` table in every view (a subquery naming the days read, the
    table itself written `{table}`);
    `sent`, if given, keeps the pairs of COHORT_VIEWS whose sent_at satisfies it; `prelude` holds
    the common table expressions those two use.
    """

    events: str
    sent: str | None = None
    prelude: str = ""

    @classmethod
    def days(cls, first: date, last: date) -> Scan:
        """The `dt` partitions from `first` to `last`, as literals: pruned at planning."""
        return cls(
            f"(select * from {{table}} where dt between '{first.isoformat()}' "
            f"and '{last.isoformat()}')"
        )

    @classmethod
    def parameters(cls, window_days: int) -> Scan:
        """Two execution parameters, the first and last day of sending (DATE or 'YYYY-MM-DD'):
        the pairs sent then, their events read until `window_days` after the last day.

        Each `?` appears once, in a one-row table the scan joins: Trino replaces a join with a
        one-row constant by a projection of its values (ReplaceJoinOverConstantWithProject), so
        the `dt` bounds are constants when partitions are pruned."""
        bounds = _PARAMETERS
        return cls(
            events=(
                f"(select scanned.* from {{table}} as scanned cross join {bounds} "
                f"where scanned.dt between cast({bounds}.since as varchar) "
                f"and cast(cast(date_add('day', {int(window_days)}, {bounds}.until) as date) "
                "as varchar))"
            ),
            sent=(
                f"date(sent_at) between (select since from {bounds}) "
                f"and (select until from {bounds})"
            ),
            prelude=f"{bounds} as (select cast(? as date) as since, cast(? as date) as until)",
        )


def _query_body(statement: str) -> str:
    """What a `create or replace view` statement selects, comments removed."""
    text = _COMMENT.sub(" ", statement)
    match = _CREATE.match(text)
    if match is None:
        raise ViewError("a view statement must start with `create or replace view`")
    return text[match.end() :].strip()


def inline(
    query: str,
    views: Sequence[View],
    request_columns: Iterable[str],
    scan: Scan,
    database: str | None = None,
) -> str:
    """`query` as one statement that carries the views it reads as common table expressions,
    each reading `ses_events` through `scan`: the same view SQL, bounded at its base scan.

    Athena has no parameterized views, so this is how a bounded question (a prepared statement,
    or `--since` against Athena) reads only its days whatever the views stacked above the scan.
    With `database`, the tables are named in it (a prepared statement runs in whatever database
    the console has selected).
    """
    prefix = f'"{database}".' if database is not None else ""
    if database is not None and not _IDENTIFIER.fullmatch(database):
        raise ViewError(f"not a Glue database name: {database!r}")
    events = scan.events.format(table=f"{prefix}ses_events")
    columns = list(request_columns)
    by_name = {v.name: v for v in views}
    needed: set[str] = set()
    pending = [n for n in by_name if re.search(rf"\b{n}\b", _COMMENT.sub(" ", query))]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(references(by_name[name], by_name))
    ctes = [scan.prelude] if scan.prelude else []
    for view in dependency_order([by_name[n] for n in needed]):
        body = _query_body(expand(view.sql, columns))
        body = _EVENTS_TABLE.sub(lambda _: f"{events} as ses_events", body)
        body = _REQUESTS_TABLE.sub(lambda _: f"{prefix}ses_requests", body)
        if scan.sent is not None and view.name in COHORT_VIEWS:
            body = f"select * from (\n{body}\n) as pairs where {scan.sent}"
        ctes.append(f"{view.name} as (\n{body}\n)")
    text = _EVENTS_TABLE.sub(lambda _: f"{events} as ses_events", query.strip().rstrip(";"))
    text = _REQUESTS_TABLE.sub(lambda _: f"{prefix}ses_requests", text)
    if not ctes:
        return text
    listed = ",\n".join(ctes)
    if _WITH.match(text):
        return f"with {listed},\n{_WITH.sub('', text, count=1)}"
    return f"with {listed}\n{text}"
