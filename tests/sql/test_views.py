"""Every view, exact rows, over the hand-built scenario lake (tests/sql/conftest.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from seslake_cli.engines.local import LocalAthena
from tests.sql.builder import BROWSER, LakeBuilder


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rows(engine: LocalAthena, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in engine.query(sql).to_pylist()]


def test_duplicates_collapse_to_one_row_per_event_id(scenario: LocalAthena) -> None:
    assert rows(scenario, "select count(*), count(distinct event_id) from ses_events") == [(38, 36)]
    assert rows(scenario, "select count(*), count(distinct event_id) from ses_events_unique") == [
        (36, 36)
    ]
    # The delivery delivered three times keeps its first copy, in its partition (a string).
    assert rows(
        scenario,
        "select event_type, dt, ingest_source from ses_events_unique "
        "where message_id = 'm5' order by event_at",
    ) == [("send", "2026-03-01", "test:15"), ("delivery", "2026-03-02", "test:16")]


def test_message_status_pivots_each_recipient(scenario: LocalAthena) -> None:
    got = rows(
        scenario,
        "select message_id, recipient, outcome, delivered_at, first_delayed_at, delay_count, "
        "bounced_at, bounce_type, bounce_subtype, complained_at, complaint_feedback_type, "
        "rejected_at, first_opened_at, open_count, first_clicked_at, click_count, "
        "unsubscribed_at, seconds_to_deliver, seconds_to_open, seconds_to_click "
        "from message_status order by message_id, recipient",
    )
    n = None
    assert got == [
        (
            "m1",
            "a@x.com",
            "delivered",
            ts("2026-03-01 10:00:05"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            5,
            n,
            n,
        ),
        (
            "m1",
            "b@x.com",
            "delivered",
            ts("2026-03-01 10:00:07"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            7,
            n,
            n,
        ),
        (
            "m1",
            "c@x.com",
            "bounced",
            n,
            n,
            0,
            ts("2026-03-01 10:00:09"),
            "Permanent",
            "General",
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            n,
            n,
            n,
        ),
        (
            "m10",
            "l@x.com",
            "rejected",
            n,
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            ts("2026-03-01 17:00:00"),
            n,
            0,
            n,
            0,
            n,
            n,
            n,
            n,
        ),
        (
            "m11",
            "n@x.com",
            "delivered",
            ts("2026-03-01 17:30:00"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            0,
            n,
            n,
        ),
        (
            "m12",
            "o@x.com",
            "bounced",
            n,
            n,
            0,
            ts("2026-03-02 00:00:01"),
            "Permanent",
            "NoEmail",
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            n,
            n,
            n,
        ),
        # soft bounce, delay, then delivered: 1800.5 s counts 1800 whole seconds
        (
            "m2",
            "d@x.com",
            "delivered",
            ts("2026-03-01 11:30:00.500"),
            ts("2026-03-01 11:00:31"),
            1,
            ts("2026-03-01 11:00:30"),
            "Transient",
            "MailboxFull",
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            1800,
            n,
            n,
        ),
        # delivered, then bounced: the bounce wins
        (
            "m3",
            "e@x.com",
            "bounced",
            ts("2026-03-01 12:00:01"),
            n,
            0,
            ts("2026-03-01 12:05:00"),
            "Permanent",
            "General",
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            1,
            n,
            n,
        ),
        (
            "m4",
            "f@x.com",
            "complained",
            ts("2026-03-01 13:00:02"),
            n,
            0,
            n,
            n,
            n,
            ts("2026-03-02 09:00:00"),
            "abuse",
            n,
            ts("2026-03-01 13:10:00"),
            1,
            n,
            0,
            n,
            2,
            600,
            n,
        ),
        # across midnight: 0.2 s is 0 whole seconds (a plain DuckDB date_diff says 1)
        (
            "m5",
            "g@x.com",
            "delivered",
            ts("2026-03-02 00:00:00.100"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            n,
            0,
            n,
            0,
            n,
            0,
            n,
            n,
        ),
        (
            "m6",
            "h@x.com",
            "opened",
            ts("2026-03-01 14:00:01"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            ts("2026-03-01 14:05:00"),
            2,
            n,
            0,
            n,
            1,
            300,
            n,
        ),
        # a click without an open: clicked, but open columns count open events only
        (
            "m7",
            "i@x.com",
            "clicked",
            ts("2026-03-01 15:00:01"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            n,
            0,
            ts("2026-03-01 15:10:00"),
            1,
            n,
            1,
            n,
            600,
        ),
        # months later: 106 days minus 8 hours
        (
            "m8",
            "j@x.com",
            "unsubscribed",
            ts("2026-03-01 16:00:01"),
            n,
            0,
            n,
            n,
            n,
            n,
            n,
            n,
            ts("2026-06-15 08:00:00"),
            1,
            n,
            0,
            ts("2026-06-15 08:01:00"),
            1,
            106 * 86400 - 8 * 3600,
            n,
        ),
    ]


def test_counting_flags_follow_the_rules(scenario: LocalAthena) -> None:
    got = rows(
        scenario,
        "select message_id || '/' || recipient, is_sent, is_delivered, is_bounced, "
        "is_hard_bounced, is_soft_bounced, is_complained, is_rejected, is_delayed, is_opened, "
        "is_clicked, is_unsubscribed from message_status "
        "where message_id in ('m2', 'm7', 'm10', 'm11') order by 1",
    )
    f, t = False, True
    assert got == [
        ("m10/l@x.com", f, f, f, f, f, f, t, f, f, f, f),  # a reject is not a send
        ("m11/n@x.com", t, t, f, f, f, f, f, f, f, f, f),  # opting in is not unsubscribing
        ("m2/d@x.com", t, t, t, f, t, f, f, t, f, f, f),  # Transient and no Permanent: soft
        ("m7/i@x.com", t, t, f, f, f, f, f, f, t, t, f),  # a click proves the open
    ]


def test_message_facts_joins_internal_rows_both_ways(scenario: LocalAthena) -> None:
    got = rows(
        scenario,
        "select message_id, recipient, outcome, is_requested, region, email_type "
        "from message_facts order by message_id, recipient",
    )
    assert got == [
        ("m1", "a@x.com", "delivered", True, "eu", "receipt"),  # no recipient: joins all three
        ("m1", "b@x.com", "delivered", True, "eu", "receipt"),
        ("m1", "c@x.com", "bounced", True, "eu", "receipt"),
        ("m10", "l@x.com", "rejected", False, None, None),  # events, no internal row
        ("m11", "n@x.com", "delivered", True, "eu", "receipt"),
        ("m12", "o@x.com", "bounced", False, None, None),
        ("m2", "d@x.com", "delivered", True, "eu", "receipt"),  # recipient matched lowercased
        ("m3", "e@x.com", "bounced", True, "us", "newsletter"),
        ("m4", "f@x.com", "complained", True, "us", "newsletter"),
        ("m5", "g@x.com", "delivered", True, "eu", "receipt"),
        ("m6", "h@x.com", "opened", True, "us", "newsletter"),
        ("m7", "i@x.com", "clicked", True, "us", "newsletter"),
        ("m8", "j@x.com", "unsubscribed", True, "eu", "receipt"),
        ("m9", "k@x.com", None, True, "us", "newsletter"),  # requested, no event yet
    ]


def test_summary_by_region(scenario: LocalAthena) -> None:
    got = rows(scenario, "select * from summary_by_region order by region nulls last")
    assert got == [
        # every open and click of the scenario is a person's: human_* equal opened, clicked;
        # no bounce is a suppression, every hard bounce counts for SES (suppressed 0,
        # reputation_bounced = hard_bounced)
        ("eu", 7, 7, 6, 2, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 6 / 7, 2 / 7, 0.0, 1 / 6, 0.0)
        + (0.0, 1 / 6, 0.0, 1 / 7),
        ("us", 5, 4, 4, 1, 1, 0, 0, 1, 1, 0, 0, 3, 1, 3, 1, 0, 1.0, 0.25, 0.25, 0.75, 0.25)
        + (1 / 3, 0.75, 0.25, 0.25),
        (None, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0.0, 1.0, None, None, None)
        + (None, None, None, 1.0),
    ]


def test_recipient_journey_orders_steps(scenario: LocalAthena) -> None:
    got = rows(
        scenario,
        "select message_id, step, event_type, event_at, seconds_since_sent, detail "
        "from recipient_journey where message_id in ('m2', 'm5', 'm11') "
        "order by message_id, step",
    )
    assert got == [
        ("m11", 1, "send", ts("2026-03-01 17:30:00"), 0, "accepted by SES"),
        ("m11", 2, "delivery", ts("2026-03-01 17:30:00"), 0, "250 2.6.0 Message received"),
        (
            "m11",
            3,
            "subscription",
            ts("2026-03-01 17:30:00"),
            0,
            "subscription preferences changed",
        ),
        ("m2", 1, "send", ts("2026-03-01 11:00:00"), 0, "accepted by SES"),
        (
            "m2",
            2,
            "bounce",
            ts("2026-03-01 11:00:30"),
            30,
            "Transient/MailboxFull: smtp; 550 5.1.1 user unknown",
        ),
        (
            "m2",
            3,
            "delivery_delay",
            ts("2026-03-01 11:00:31"),
            31,
            "MailboxFull: smtp; 452 4.2.2 mailbox full",
        ),
        ("m2", 4, "delivery", ts("2026-03-01 11:30:00.500"), 1800, "250 2.6.0 Message received"),
        ("m5", 1, "send", ts("2026-03-01 23:59:59.900"), 0, "accepted by SES"),
        ("m5", 2, "delivery", ts("2026-03-02 00:00:00.100"), 0, "250 2.6.0 Message received"),
    ]
    details = rows(
        scenario,
        "select event_type, detail from recipient_journey "
        "where message_id in ('m4', 'm7', 'm8', 'm10') and event_type not in ('send', 'delivery') "
        "order by message_id, step",
    )
    person = f"no machine sign ({BROWSER})"  # opens and clicks say what they were judged
    assert details == [
        ("reject", "Bad content"),
        ("open", person),
        ("complaint", "abuse"),
        ("click", f"https://example.com/a - {person}"),
        ("open", person),
        ("subscription", "unsubscribed from all"),
    ]


def test_opened_not_clicked(scenario: LocalAthena) -> None:
    got = rows(
        scenario,
        "select message_id, recipient, first_opened_at, open_count, region, email_type "
        "from opened_not_clicked order by message_id",
    )
    assert got == [
        ("m4", "f@x.com", ts("2026-03-01 13:10:00"), 1, "us", "newsletter"),
        ("m6", "h@x.com", ts("2026-03-01 14:05:00"), 2, "us", "newsletter"),
        ("m8", "j@x.com", ts("2026-06-15 08:00:00"), 1, "eu", "receipt"),
    ]


def test_deliverability_daily_by_day_of_sending(scenario: LocalAthena) -> None:
    got = rows(scenario, "select * from deliverability_daily order by day")
    t = True
    assert got == [
        # bounce_rate: every bounce over sent; hard_bounce_rate: SES's figure (thresholds)
        (date(2026, 3, 1), 11, 10, 3, 2, 0, 2, 1, 3 / 11, 2 / 11, 0.1, t, t, t, t, "pause"),
        (date(2026, 3, 2), 1, 0, 1, 1, 0, 1, 0, 1.0, 1.0, None, t, t, None, None, "pause"),
    ]


@pytest.mark.parametrize(
    ("sent", "hard_bounces", "complaints", "expected"),
    [
        (100, 0, 0, (False, False, False, False, "ok")),
        (100, 5, 0, (True, False, False, False, "review")),  # exactly 5%: review
        (100, 4, 0, (False, False, False, False, "ok")),
        (100, 10, 0, (True, True, False, False, "pause")),
        (100, 0, 1, (False, False, True, True, "pause")),  # 1 of 100 delivered = 1%
        (1000, 0, 1, (False, False, True, False, "review")),  # 0.1%
    ],
)
def test_deliverability_thresholds(
    tmp_path: Any, sent: int, hard_bounces: int, complaints: int, expected: tuple[Any, ...]
) -> None:
    lake = LakeBuilder(tmp_path)
    recipients = [f"r{i}@x.com" for i in range(sent)]
    message = lake.message("bulk", recipients, "2026-05-01T09:00:00Z")
    message.send()
    for i, recipient in enumerate(recipients):
        if i < hard_bounces:
            message.bounce(recipient, "Permanent", "General", "2026-05-01T09:00:10Z")
        else:
            message.delivery(recipient, "2026-05-01T09:00:10Z")
            if i < hard_bounces + complaints:
                message.complaint(recipient, "2026-05-01T10:00:00Z")
    engine = lake.engine()
    got = rows(
        engine,
        "select is_bounce_review, is_bounce_pause, is_complaint_review, is_complaint_pause, "
        "reputation_status from deliverability_daily",
    )
    assert got == [expected]
