"""The questions the CLI asks, as Athena SQL built from the view files.

`summary_sql` reuses summary_by_region's own query, grouped by other columns, so every cohort
summary counts by the same rules as the view. The SQL returned runs on Athena or locally.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlglot
from sqlglot import exp

from seslake.views import Scan, View

from .errors import QuestionError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG = re.compile(r"^tag:([A-Za-z0-9_.:\-]+)$")


#: Days after the last day of sending whose events still count for a bounded question (opens,
#: clicks and complaints come days and weeks after the send).
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Bounds:
    """A bounded question: messages sent from `since` to `until` (inclusive), their events read
    from `since` to `until` + `window_days`."""

    since: date
    until: date
    window_days: int = WINDOW_DAYS

    @classmethod
    def parse(cls, since: str | None, until: str | None, window_days: int) -> Bounds | None:
        if since is None and until is None:
            return None
        try:
            first = date.fromisoformat(since) if since else None
            last = date.fromisoformat(until) if until else None
        except ValueError as error:
            raise QuestionError(f"--since and --until take dates, YYYY-MM-DD: {error}") from None
        first = first or last
        last = last or first
        assert first is not None and last is not None
        if last < first:
            raise QuestionError(f"--until {last} is before --since {first}")
        if window_days < 0:
            raise QuestionError("--window-days cannot be negative")
        return cls(first, last, window_days)

    @property
    def scan_days(self) -> tuple[str, str]:
        """The `dt` partitions a bounded question reads."""
        return self.since.isoformat(), (self.until + timedelta(days=self.window_days)).isoformat()

    def scan(self) -> Scan:
        """The same days, as the base scan of an inlined question (for Athena)."""
        return Scan.days(self.since, self.until + timedelta(days=self.window_days))

    def sent_filter(self) -> str:
        """The cohort: pairs sent from `since` to `until`."""
        return (
            f"date(sent_at) between date '{self.since.isoformat()}' "
            f"and date '{self.until.isoformat()}'"
        )


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def cohort(spec: str, columns: Sequence[str]) -> tuple[exp.Expr, str]:
    """`region` or `tag:campaign` as (expression over message_facts, output column name)."""
    tag = _TAG.match(spec)
    if tag:
        name = tag.group(1)
        alias = "tag_" + re.sub(r"[^0-9a-z_]+", "_", name.lower())
        expression = sqlglot.parse_one(
            f"element_at(element_at(tags, {quote(name)}), 1)", read="athena"
        )
        return expression, alias
    if not _IDENTIFIER.match(spec) or spec not in columns:
        raise QuestionError(
            f"cannot group by {spec!r}: use a column of message_facts or tag:NAME "
            f"(columns: {', '.join(columns)})"
        )
    return exp.column(spec), spec


def summary_sql(
    summary_view: View, by: Sequence[str], columns: Sequence[str], bounds: Bounds | None = None
) -> str:
    """summary_by_region's query, grouped by the `by` cohorts instead of region; with `bounds`,
    of the pairs sent within them only."""
    if not by:
        raise QuestionError("summary needs at least one column to group by")
    cohorts = [cohort(spec, columns) for spec in by]
    tree = sqlglot.parse_one(summary_view.body, read="athena")
    if not isinstance(tree, exp.Select):
        raise QuestionError(f"{summary_view.name} does not end in a select")
    if bounds is not None:
        facts = next(c for c in tree.find_all(exp.CTE) if c.alias == "facts")
        facts.this.where(bounds.sent_filter(), dialect="athena", copy=False)
    for select in list(tree.find_all(exp.Select)):
        grouped = select.args.get("group") is not None
        projections = []
        for projection in select.expressions:
            if isinstance(projection, exp.Column) and projection.name == "region":
                for expression, alias in cohorts:
                    projections.append(
                        exp.alias_(expression.copy(), alias) if grouped else exp.column(alias)
                    )
            else:
                projections.append(projection)
        select.set("expressions", projections)
        if grouped:
            group = select.args["group"]
            keys = []
            for key in group.expressions:
                if isinstance(key, exp.Column) and key.name == "region":
                    keys += [expression.copy() for expression, _ in cohorts]
                else:
                    keys.append(key)
            group.set("expressions", keys)
    ordered = tree.order_by(*[f"{alias} nulls last" for _, alias in cohorts], copy=False)
    return str(ordered.sql(dialect="athena"))


def journey_sql(message_id: str, recipient: str | None = None) -> str:
    """The steps of one message, for one recipient or all of them."""
    where = f"message_id = {quote(message_id)}"
    if recipient:
        where += f" and recipient = {quote(recipient.strip().lower())}"
    return (
        "select recipient, step, event_type, event_at, seconds_since_sent, detail "
        f"from recipient_journey where {where} order by recipient, step"
    )
