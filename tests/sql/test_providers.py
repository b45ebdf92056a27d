"""Mailbox providers, suppressed sends, SES's own bounce rate and tenants: each rule, given rows
-> expected values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seslake_cli.engines.local import LocalAthena
from tests.sql.builder import LakeBuilder

GOOGLE_MX = "250 2.0.0 OK  1700000000 x12si1234567qkl.123 - gsmtp"
MICROSOFT_MX = (
    "250 2.6.0 <0100018c@email.amazonses.com> [InternalId=123, "
    "Hostname=AM0PR02MB1234.eurprd02.prod.outlook.com] Queued mail for delivery"
)
PROVIDERS = {
    "a@gmail.com": ("google", None),
    "b@googlemail.com": ("google", None),
    "c@hotmail.co.uk": ("microsoft", None),
    "d@live.fr": ("microsoft", None),
    "e@outlook.com": ("microsoft", None),
    "f@msn.com": ("microsoft", None),
    "g@yahoo.co.jp": ("yahoo", None),
    "h@aol.com": ("yahoo", None),
    "i@ymail.com": ("yahoo", None),
    "i2@rocketmail.com": ("yahoo", None),
    "j@icloud.com": ("apple", None),
    "k@me.com": ("apple", None),
    "k2@mac.com": ("apple", None),
    "l@workspace-company.com": ("google", GOOGLE_MX),  # Google Workspace, by its MX
    "m@m365-company.com": ("microsoft", MICROSOFT_MX),  # Microsoft 365, by its MX
    "n@small.org": ("other", None),
    "o@gmail.com.evil.org": ("other", None),  # a domain that only starts like gmail.com
}
BOUNCES = {  # recipient -> (bounce type, subtype, is_suppressed, is_reputation_bounce)
    "p@x.com": ("Permanent", "OnAccountSuppressionList", True, False),
    "q@x.com": ("Permanent", "Suppressed", True, True),
    "r@x.com": ("Permanent", "General", False, True),
    "s@x.com": ("Transient", "General", False, False),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAthena]:
    lake = LakeBuilder(Path(tmp_path_factory.mktemp("providers")))
    for number, (recipient, (_, smtp)) in enumerate(PROVIDERS.items()):
        message = lake.message(f"p{number}", [recipient], "2026-03-01T10:00:00Z")
        message.send()
        message.delivery(recipient, "2026-03-01T10:00:05Z", smtp=smtp or "250 2.6.0 OK")
    for number, (recipient, (kind, subtype, _, _)) in enumerate(BOUNCES.items()):
        message = lake.message(f"b{number}", [recipient], "2026-03-01T10:00:00Z")
        message.send()
        message.bounce(recipient, kind, subtype, "2026-03-01T10:00:01Z")
    tagged = lake.message("t1", ["t@x.com"], "2026-03-01T10:00:00Z", {"ses:tenant-name": ["acme"]})
    tagged.send()
    built = lake.engine()
    yield built
    built.close()


def status(engine: LocalAthena, recipient: str) -> dict[str, Any]:
    sql = f"select * from message_status where recipient = '{recipient}'"
    (row,) = engine.query(sql).to_pylist()
    return dict(row)


@pytest.mark.parametrize("recipient", sorted(PROVIDERS))
def test_mailbox_provider(engine: LocalAthena, recipient: str) -> None:
    row = status(engine, recipient)
    assert row["mailbox_provider"] == PROVIDERS[recipient][0]
    assert row["recipient_domain"] == recipient.split("@")[1]


@pytest.mark.parametrize("recipient", sorted(BOUNCES))
def test_suppressed_and_what_ses_counts_in_its_bounce_rate(
    engine: LocalAthena, recipient: str
) -> None:
    _, _, suppressed, reputation = BOUNCES[recipient]
    row = status(engine, recipient)
    assert (row["is_suppressed"], row["is_reputation_bounce"]) == (suppressed, reputation)


def test_tenant_from_the_ses_tag(engine: LocalAthena) -> None:
    assert status(engine, "t@x.com")["tenant"] == "acme"
    assert status(engine, "a@gmail.com")["tenant"] is None


def test_summary_counts_suppressed_and_ses_bounces(engine: LocalAthena) -> None:
    (row,) = engine.query(
        "select sent, bounced, hard_bounced, suppressed, reputation_bounced, bounce_rate, "
        "hard_bounce_rate from summary_by_region"
    ).to_pylist()
    sent = len(PROVIDERS) + len(BOUNCES) + 1
    assert row == {
        "sent": sent,
        "bounced": 4,
        "hard_bounced": 3,
        "suppressed": 2,
        "reputation_bounced": 2,  # the account-level suppression is not SES's bounce
        "bounce_rate": 4 / sent,
        "hard_bounce_rate": 2 / sent,
    }


def test_thresholds_ignore_sends_to_the_account_suppression_list(tmp_path: Path) -> None:
    lake = LakeBuilder(tmp_path)
    recipients = [f"r{i}@x.com" for i in range(100)]
    message = lake.message("bulk", recipients, "2026-05-01T09:00:00Z")
    message.send()
    for i, recipient in enumerate(recipients):
        if i < 6:  # 6%: over SES's review threshold, were they counted
            message.bounce(
                recipient, "Permanent", "OnAccountSuppressionList", "2026-05-01T09:00:01Z"
            )
        else:
            message.delivery(recipient, "2026-05-01T09:00:10Z")
    (row,) = (
        lake.engine()
        .query(
            "select hard_bounced, hard_bounce_rate, bounce_rate, reputation_status "
            "from deliverability_daily"
        )
        .to_pylist()
    )
    assert row == {
        "hard_bounced": 6,
        "hard_bounce_rate": 0.0,
        "bounce_rate": 0.06,
        "reputation_status": "ok",
    }


def test_deliverability_by_provider_splits_the_daily_figures(engine: LocalAthena) -> None:
    rows = engine.query(
        "select mailbox_provider, sent, reputation_bounced, reputation_status "
        "from deliverability_by_provider where mailbox_provider <> 'all' order by mailbox_provider"
    ).to_pylist()
    assert [(r["mailbox_provider"], r["sent"]) for r in rows] == [
        ("apple", 3),
        ("google", 3),
        ("microsoft", 5),
        ("other", 7),  # n@, o@, the four bounces at x.com and t@x.com
        ("yahoo", 4),
    ]
    (daily,) = engine.query("select sent, reputation_bounced from deliverability_daily").to_pylist()
    assert sum(r["sent"] for r in rows) == daily["sent"]
    assert sum(r["reputation_bounced"] for r in rows) == daily["reputation_bounced"] == 2


def test_summary_by_provider_and_tenant_on_the_command_line(
    engine: LocalAthena, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from seslake_cli.commands import main

    for column, expected in (
        ("mailbox_provider", {"apple": 3, "google": 3, "microsoft": 5, "other": 7, "yahoo": 4}),
        ("tenant", {"acme": 1, None: 21}),
    ):
        code = main(["summary", "--by", column, "--lake", str(engine.lake), "--format", "json"])
        out = capsys.readouterr().out
        assert code == 0
        assert {row[column]: row["sent"] for row in map(json.loads, out.splitlines())} == expected
