"""People or machines: each rule of the engagement view, given rows -> expected judgement,
at the edge of every threshold; and pairs with both kinds of engagement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seslake_cli.engines.local import LocalAthena
from tests.sql.builder import BROWSER, LakeBuilder

APPLE = "Mozilla/5.0"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
MIMECAST = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
DELIVERED = "2026-03-01T10:00:00.000Z"


def at(seconds: float) -> str:
    """A time `seconds` after the delivery."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    minutes, secs = divmod(10 * 60 * 60 + whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"2026-03-01T{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}Z"


# message id -> (what happens, after delivery) ; each message has one recipient
CASES: dict[str, list[tuple[str, float, str, str]]] = {
    # kind, seconds after delivery, link, user agent
    "apple-open": [("open", 3600, "", APPLE)],
    "apple-ua-click": [("click", 3600, "https://x/a", APPLE)],  # Apple's rule: opens only
    "gmail-open": [("open", 3600, "", GMAIL)],
    "yahoo-open": [("open", 3600, "", YAHOO)],
    "scanner-ua-click": [("click", 3600, "https://x/a", MIMECAST)],
    "requests-click": [("click", 3600, "https://x/a", "python-requests/2.31.0")],
    "curl-open": [("open", 3600, "", "curl/8.4.0")],
    "go-click": [("click", 3600, "https://x/a", "Go-http-client/1.1")],
    "headless-click": [("click", 3600, "https://x/a", "Mozilla/5.0 HeadlessChrome/120.0")],
    "fast-click": [("click", 9.999, "https://x/a", BROWSER)],
    "ten-second-click": [("click", 10.0, "https://x/a", BROWSER)],
    "burst": [("click", 600, "https://x/a", BROWSER), ("click", 605, "https://x/b", BROWSER)],
    "no-burst": [
        ("click", 600, "https://x/a", BROWSER),
        ("click", 605.001, "https://x/b", BROWSER),
    ],
    "same-link-twice": [
        ("click", 600, "https://x/a", BROWSER),
        ("click", 601, "https://x/a", BROWSER),
    ],
    "open-with-burst": [
        ("open", 601, "", BROWSER),
        ("click", 600, "https://x/a", BROWSER),
        ("click", 602, "https://x/b", BROWSER),
    ],
    "open-after-burst": [
        ("click", 600, "https://x/a", BROWSER),
        ("click", 602, "https://x/b", BROWSER),
        ("open", 608, "", BROWSER),
    ],
    "person": [("open", 3600, "", BROWSER), ("click", 3700, "https://x/a", BROWSER)],
    # both kinds on one pair
    "apple-then-person-clicks": [("open", 5, "", APPLE), ("click", 7200, "https://x/a", BROWSER)],
    "scanner-then-person-opens": [
        ("click", 2, "https://x/a", BROWSER),
        ("open", 7200, "", BROWSER),
    ],
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAthena]:
    lake = LakeBuilder(Path(tmp_path_factory.mktemp("engagement")))
    for message_id, steps in CASES.items():
        message = lake.message(message_id, [f"{message_id}@x.com"], "2026-03-01T09:59:58.000Z")
        message.send()
        message.delivery(f"{message_id}@x.com", DELIVERED)
        for kind, seconds, link, user_agent in steps:
            if kind == "open":
                message.open(at(seconds), user_agent=user_agent)
            else:
                message.click(at(seconds), link=link, user_agent=user_agent)
    built = lake.engine()
    yield built
    built.close()


def judged(engine: LocalAthena, message_id: str) -> list[tuple[str, str]]:
    sql = (
        "select event_type, engagement from engagement "
        f"where message_id = '{message_id}' order by event_at, event_type"
    )
    return [(r["event_type"], r["engagement"]) for r in engine.query(sql).to_pylist()]


EXPECTED = {
    "apple-open": [("open", "apple_privacy_proxy")],
    "apple-ua-click": [("click", "human")],
    "gmail-open": [("open", "image_proxy")],
    "yahoo-open": [("open", "image_proxy")],
    "scanner-ua-click": [("click", "scanner")],
    "requests-click": [("click", "bot")],
    "curl-open": [("open", "bot")],
    "go-click": [("click", "bot")],
    "headless-click": [("click", "bot")],
    "fast-click": [("click", "scanner")],
    "ten-second-click": [("click", "human")],
    "burst": [("click", "scanner"), ("click", "scanner")],
    "no-burst": [("click", "human"), ("click", "human")],
    "same-link-twice": [("click", "human"), ("click", "human")],
    "open-with-burst": [("click", "scanner"), ("open", "scanner"), ("click", "scanner")],
    "open-after-burst": [("click", "scanner"), ("click", "scanner"), ("open", "human")],
    "person": [("open", "human"), ("click", "human")],
    "apple-then-person-clicks": [("open", "apple_privacy_proxy"), ("click", "human")],
    "scanner-then-person-opens": [("click", "scanner"), ("open", "human")],
}


@pytest.mark.parametrize("message_id", sorted(EXPECTED))
def test_each_rule(engine: LocalAthena, message_id: str) -> None:
    assert judged(engine, message_id) == EXPECTED[message_id]


def test_reasons_say_which_rule_decided(engine: LocalAthena) -> None:
    got = dict(
        (r["message_id"], r["engagement_reason"])
        for r in engine.query(
            "select message_id, engagement_reason from engagement "
            "where message_id in ('apple-open', 'fast-click', 'burst', 'gmail-open') "
            "and event_at = (select min(event_at) from engagement e2 "
            "where e2.message_id = engagement.message_id)"
        ).to_pylist()
    )
    assert got == {
        "apple-open": "Apple Mail Privacy Protection prefetch (user agent Mozilla/5.0)",
        "fast-click": "clicked 9 s after delivery",
        "burst": "one of several links clicked within 5 s",
        "gmail-open": "fetched through the mail provider's image proxy as the person viewed it",
    }


def flags(engine: LocalAthena, message_id: str) -> dict[str, object]:
    sql = (
        "select is_opened, is_clicked, is_human_opened, is_human_clicked, is_machine_opened, "
        f"is_bot_clicked from message_status where message_id = '{message_id}'"
    )
    (row,) = engine.query(sql).to_pylist()
    return dict(row)


def test_pairs_with_machine_and_human_engagement(engine: LocalAthena) -> None:
    assert flags(engine, "apple-then-person-clicks") == {
        "is_opened": True,
        "is_clicked": True,
        "is_human_opened": True,  # the person's click proves the open
        "is_human_clicked": True,
        "is_machine_opened": True,
        "is_bot_clicked": False,
    }
    assert flags(engine, "scanner-then-person-opens") == {
        "is_opened": True,
        "is_clicked": True,
        "is_human_opened": True,
        "is_human_clicked": False,
        "is_machine_opened": False,
        "is_bot_clicked": True,
    }
    assert flags(engine, "apple-open")["is_human_opened"] is False


def test_opened_not_clicked_is_about_people(engine: LocalAthena) -> None:
    got = {
        r["message_id"]
        for r in engine.query("select message_id from opened_not_clicked").to_pylist()
    }
    # a person opened, no person clicked (a scanner's click does not count; Apple's prefetch
    # does not count as an open)
    assert got == {"gmail-open", "yahoo-open", "open-after-burst", "scanner-then-person-opens"}


def test_engagement_key_is_unique(engine: LocalAthena) -> None:
    (row,) = engine.query(
        "select count(*) as n, count(distinct event_id) as ids from engagement"
    ).to_pylist()
    assert row["n"] == row["ids"] == sum(len(steps) for steps in CASES.values())
