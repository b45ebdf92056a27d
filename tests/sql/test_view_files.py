"""The files in athena/views: valid Athena (Trino) SQL, house style, contract columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from seslake.errors import ViewError
from seslake.schema import EVENT_COLUMNS, EVENT_PARTITIONS
from seslake.views import View, dependency_order, expand, load_views, views_dir
from seslake_cli.engines.local import LocalAthena

VIEWS = load_views()
NAMES = [v.name for v in VIEWS]

CONTRACT = {
    "ses_events_unique": [c.name for c in (*EVENT_COLUMNS, *EVENT_PARTITIONS)],
    "message_status": [
        "message_id",
        "recipient",
        "sent_at",
        "delivered_at",
        "first_delayed_at",
        "delay_count",
        "bounced_at",
        "bounce_type",
        "bounce_subtype",
        "complained_at",
        "complaint_feedback_type",
        "rejected_at",
        "rendering_failed_at",
        "first_opened_at",
        "open_count",
        "first_clicked_at",
        "click_count",
        "unsubscribed_at",
        "seconds_to_deliver",
        "seconds_to_open",
        "seconds_to_click",
        "outcome",
        "is_human_opened",
        "is_human_clicked",
        "is_machine_opened",
        "is_bot_clicked",
        "first_human_opened_at",
        "first_human_clicked_at",
        "is_suppressed",
        "is_reputation_bounce",
        "recipient_domain",
        "mailbox_provider",
        "tenant",
    ],
    "engagement": [
        "event_id",
        "message_id",
        "recipient",
        "event_type",
        "event_at",
        "link",
        "user_agent",
        "ip_address",
        "engagement",
        "engagement_reason",
        "is_human",
        "dt",
    ],
    "summary_by_region": [
        "region",
        "requested",
        "sent",
        "delivered",
        "bounced",
        "hard_bounced",
        "soft_bounced",
        "suppressed",
        "reputation_bounced",
        "complained",
        "rejected",
        "delayed",
        "opened",
        "clicked",
        "human_opened",
        "human_clicked",
        "unsubscribed",
        "delivery_rate",
        "bounce_rate",
        "complaint_rate",
        "open_rate",
        "click_rate",
        "click_to_open_rate",
        "human_open_rate",
        "human_click_rate",
        "hard_bounce_rate",
    ],
    "recipient_journey": [
        "message_id",
        "recipient",
        "step",
        "event_type",
        "event_at",
        "seconds_since_sent",
        "detail",
        "engagement",
    ],
    "opened_not_clicked": [
        "message_id",
        "recipient",
        "first_opened_at",
        "first_human_opened_at",
        "open_count",
        "region",
    ],
    "deliverability_daily": [
        "sent",
        "delivered",
        "bounced",
        "complained",
        "bounce_rate",
        "hard_bounce_rate",
        "complaint_rate",
        "suppressed",
    ],
}


def strict_parse(sql: str) -> exp.Expr:
    statements = sqlglot.parse(sql, read="athena", error_level=ErrorLevel.RAISE)
    assert len(statements) == 1 and statements[0] is not None
    return statements[0]


def test_every_contract_view_exists() -> None:
    assert set(CONTRACT) | {"message_facts"} <= set(NAMES)


@pytest.mark.parametrize("view", VIEWS, ids=NAMES)
def test_view_file_is_one_strict_trino_statement(view: View) -> None:
    tree = strict_parse(view.sql)
    assert isinstance(tree, exp.Create) and tree.kind == "VIEW"
    assert tree.args.get("replace") is True
    assert tree.this.name == view.name
    # Only functions Trino knows: sqlglot maps every Trino function it knows to a typed node, so
    # an unknown name would be an Anonymous call.
    unknown = [f.name for f in tree.find_all(exp.Anonymous)]
    assert unknown == []
    # The Trino text sqlglot generates parses back to the same tree.
    assert strict_parse(tree.sql(dialect="athena")) == tree


@pytest.mark.parametrize("view", VIEWS, ids=NAMES)
def test_view_file_follows_the_house_style(view: View) -> None:
    first = view.sql.splitlines()[0]
    assert first.startswith(f"-- {view.name}: one row per"), first
    code = re.sub(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", "", view.sql, flags=re.DOTALL)
    assert code == code.lower(), "SQL is lowercase outside comments and strings"
    assert re.search(r"select \* from final\s*$", code), "ends in `select * from final`"


def test_views_read_the_unique_events_not_the_raw_table() -> None:
    for view in VIEWS:
        if view.name != "ses_events_unique":
            assert not re.search(r"\bses_events\b", view.body), view.name


def test_dependency_order() -> None:
    position = {name: i for i, name in enumerate(NAMES)}
    assert NAMES[0] == "ses_events_unique"
    assert position["message_status"] < position["message_facts"] < position["summary_by_region"]
    assert position["message_facts"] < position["opened_not_clicked"]
    assert dependency_order(list(reversed(VIEWS))) == VIEWS


def test_a_cycle_is_an_error() -> None:
    a = View("a", "create or replace view a as select * from b")
    b = View("b", "create or replace view b as select * from a")
    with pytest.raises(ViewError, match="cycle: a, b"):
        dependency_order([a, b])


def test_a_file_must_create_the_view_it_is_named_after(tmp_path: Path) -> None:
    (tmp_path / "wrong.sql").write_text("create or replace view other as select 1 as x\n")
    with pytest.raises(ViewError, match="creates view other, not wrong"):
        load_views(tmp_path)
    (tmp_path / "wrong.sql").write_text("select 1\n")
    with pytest.raises(ViewError, match="create or replace view wrong"):
        load_views(tmp_path)


def test_internal_columns_are_listed_where_the_marker_is() -> None:
    facts = next(v for v in VIEWS if v.name == "message_facts")
    expanded = expand(
        facts.sql, ["message_id", "recipient", "region", "email_type", "outcome", "campaign_id"]
    )
    assert 'requests."email_type" as "email_type"' in expanded
    # a company column named like a view column is renamed, never duplicated
    assert 'requests."outcome" as "internal_outcome"' in expanded
    strict_parse(expanded)


def test_views_files_are_found_from_the_package() -> None:
    assert views_dir() == Path(__file__).resolve().parents[2] / "athena" / "views"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_columns(scenario: LocalAthena, name: str) -> None:
    columns = scenario.columns(name)
    missing = [c for c in CONTRACT[name] if c not in columns]
    assert missing == []
    if name in ("ses_events_unique", "summary_by_region", "engagement"):
        assert columns == CONTRACT[name]  # and in this order


def test_the_views_know_the_key_columns_of_ses_requests() -> None:
    # views.py stays free of pyarrow (the views custom resource imports it), so it names the
    # key columns itself; they must be the schema module's.
    from seslake.schema import REQUEST_KEY_COLUMNS
    from seslake.views import KNOWN_REQUEST_COLUMNS

    assert tuple(c.name for c in REQUEST_KEY_COLUMNS) == KNOWN_REQUEST_COLUMNS
