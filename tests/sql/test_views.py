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
    columns = [
        "message_id",
        "recipient",
        "outcome",
        "delivered_at",
        "first_delayed_at",
        "delay_count",
        "bounced_at",
        "bounce_type",
        "bounce_subtype",
        "complained_at",
        "complaint_feedback_type",
        "rejected_at",
        "first_opened_at",
        "open_count",
        "first_clicked_at",
        "click_count",
        "unsubscribed_at",
        "seconds_to_deliver",
        "seconds_to_open",
        "seconds_to_click",
    ]
    got = scenario.query(
        f"select {', '.join(columns)} from message_status order by message_id, recipient"
    ).to_pylist()

    def status(message_id: str, recipient: str, **given: object) -> dict[str, object]:
        """A row with the columns its case is about; every other one NULL (a count 0)."""
        row = {c: 0 if c.endswith("_count") else None for c in columns}
        assert set(given) <= set(columns), set(given) - set(columns)
        return {**row, "message_id": message_id, "recipient": recipient, **given}

    assert got == [
        status(
            "m1",
            "a@x.com",
            outcome="delivered",
            delivered_at=ts("2026-03-01 10:00:05"),
            seconds_to_deliver=5,
        ),
        status(
            "m1",
            "b@x.com",
            outcome="delivered",
            delivered_at=ts("2026-03-01 10:00:07"),
            seconds_to_deliver=7,
        ),
        status(
            "m1",
            "c@x.com",
            outcome="bounced",
            bounced_at=ts("2026-03-01 10:00:09"),
            bounce_type="Permanent",
            bounce_subtype="General",
        ),
        status("m10", "l@x.com", outcome="rejected", rejected_at=ts("2026-03-01 17:00:00")),
        status(
            "m11",
            "n@x.com",
            outcome="delivered",
            delivered_at=ts("2026-03-01 17:30:00"),
            seconds_to_deliver=0,
        ),
        status(
            "m12",
            "o@x.com",
            outcome="bounced",
            bounced_at=ts("2026-03-02 00:00:01"),
            bounce_type="Permanent",
            bounce_subtype="NoEmail",
        ),
        status(
            "m2",
            "d@x.com",
            outcome="delivered",
            delivered_at=ts("2026-03-01 11:30:00.500"),
            first_delayed_at=ts("2026-03-01 11:00:31"),
            delay_count=1,
            bounced_at=ts("2026-03-01 11:00:30"),
            bounce_type="Transient",
            bounce_subtype="MailboxFull",
            seconds_to_deliver=1800,
        ),
        status(
            "m3",
            "e@x.com",
            outcome="bounced",
            delivered_at=ts("2026-03-01 12:00:01"),
            bounced_at=ts("2026-03-01 12:05:00"),
            bounce_type="Permanent",
            bounce_subtype="General",
            seconds_to_deliver=1,
        ),
        status(
            "m4",
            "f@x.com",
            outcome="complained",
            delivered_at=ts("2026-03-01 13:00:02"),
            complained_at=ts("2026-03-02 09:00:00"),
            complaint_feedback_type="abuse",
            first_opened_at=ts("2026-03-01 13:10:00"),
            open_count=1,
            seconds_to_deliver=2,
            seconds_to_open=600,
        ),
        status(
            "m5",
            "g@x.com",
            outcome="delivered",
            delivered_at=ts("2026-03-02 00:00:00.100"),
            seconds_to_deliver=0,
        ),
        status(
            "m6",
            "h@x.com",
            outcome="opened",
            delivered_at=ts("2026-03-01 14:00:01"),
            first_opened_at=ts("2026-03-01 14:05:00"),
            open_count=2,
            seconds_to_deliver=1,
            seconds_to_open=300,
        ),
        status(
            "m7",
            "i@x.com",
            outcome="clicked",
            delivered_at=ts("2026-03-01 15:00:01"),
            first_clicked_at=ts("2026-03-01 15:10:00"),
            click_count=1,
            seconds_to_deliver=1,
            seconds_to_click=600,
        ),
        status(
            "m8",
            "j@x.com",
            outcome="unsubscribed",
            delivered_at=ts("2026-03-01 16:00:01"),
            first_opened_at=ts("2026-06-15 08:00:00"),
            open_count=1,
            unsubscribed_at=ts("2026-06-15 08:01:00"),
            seconds_to_deliver=1,
            seconds_to_open=106 * 86400 - 8 * 3600,
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
    got = scenario.query("select * from summary_by_region order by region nulls last").to_pylist()
    assert got == [
        # every open and click of the scenario is a person's: human_* equal opened, clicked;
        # no bounce is a suppression, every hard bounce counts for SES (suppressed 0,
        # reputation_bounced = hard_bounced)
        {
            "region": "eu",
            "requested": 7,
            "sent": 7,
            "delivered": 6,
            "bounced": 2,
            "hard_bounced": 1,
            "soft_bounced": 1,
            "suppressed": 0,
            "reputation_bounced": 1,
            "complained": 0,
            "rejected": 0,
            "delayed": 1,
            "opened": 1,
            "clicked": 0,
            "human_opened": 1,
            "human_clicked": 0,
            "unsubscribed": 1,
            "delivery_rate": 6 / 7,
            "bounce_rate": 2 / 7,
            "complaint_rate": 0.0,
            "open_rate": 1 / 6,
            "click_rate": 0.0,
            "click_to_open_rate": 0.0,
            "human_open_rate": 1 / 6,
            "human_click_rate": 0.0,
            "hard_bounce_rate": 1 / 7,
        },
        {
            "region": "us",
            "requested": 5,
            "sent": 4,
            "delivered": 4,
            "bounced": 1,
            "hard_bounced": 1,
            "soft_bounced": 0,
            "suppressed": 0,
            "reputation_bounced": 1,
            "complained": 1,
            "rejected": 0,
            "delayed": 0,
            "opened": 3,
            "clicked": 1,
            "human_opened": 3,
            "human_clicked": 1,
            "unsubscribed": 0,
            "delivery_rate": 1.0,
            "bounce_rate": 0.25,
            "complaint_rate": 0.25,
            "open_rate": 0.75,
            "click_rate": 0.25,
            "click_to_open_rate": 1 / 3,
            "human_open_rate": 0.75,
            "human_click_rate": 0.25,
            "hard_bounce_rate": 0.25,
        },
        {
            "region": None,
            "requested": 0,
            "sent": 1,
            "delivered": 0,
            "bounced": 1,
            "hard_bounced": 1,
            "soft_bounced": 0,
            "suppressed": 0,
            "reputation_bounced": 1,
            "complained": 0,
            "rejected": 1,
            "delayed": 0,
            "opened": 0,
            "clicked": 0,
            "human_opened": 0,
            "human_clicked": 0,
            "unsubscribed": 0,
            "delivery_rate": 0.0,
            "bounce_rate": 1.0,
            "complaint_rate": None,
            "open_rate": None,
            "click_rate": None,
            "click_to_open_rate": None,
            "human_open_rate": None,
            "human_click_rate": None,
            "hard_bounce_rate": 1.0,
        },
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
