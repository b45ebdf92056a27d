"""The scenario lake most view tests read: every awkward case of docs/views.md, built by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seslake_cli.engines.local import LocalAthena
from tests.sql.builder import LakeBuilder


def build_scenario(lake: LakeBuilder) -> None:
    """m1..m12: see each comment. Every SES record goes through the real ingest."""
    # m1: one message to three recipients: two delivered, one hard bounce. Internal row without
    # a recipient: it joins all three.
    m1 = lake.message(
        "m1",
        ["a@x.com", "b@x.com", "c@x.com"],
        "2026-03-01T10:00:00Z",
        tags={"campaign": ["spring"]},
    )
    m1.send()
    m1.delivery("a@x.com", "2026-03-01T10:00:05Z")
    m1.delivery("b@x.com", "2026-03-01T10:00:07Z")
    m1.bounce("c@x.com", "Permanent", "General", "2026-03-01T10:00:09Z")
    lake.request("m1", region="eu", email_type="receipt")
    # m2: a soft bounce, a delay, then the delivery (at a fraction of a second).
    m2 = lake.message("m2", ["d@x.com"], "2026-03-01T11:00:00Z")
    m2.send()
    m2.bounce("d@x.com", "Transient", "MailboxFull", "2026-03-01T11:00:30Z")
    m2.delay("d@x.com", "2026-03-01T11:00:31Z")
    m2.delivery("d@x.com", "2026-03-01T11:30:00.500Z")
    lake.request("m2", recipient="D@X.com", region="eu", email_type="receipt")
    # m3: delivered, then bounced.
    m3 = lake.message("m3", ["e@x.com"], "2026-03-01T12:00:00Z")
    m3.send()
    m3.delivery("e@x.com", "2026-03-01T12:00:01Z")
    m3.bounce("e@x.com", "Permanent", "General", "2026-03-01T12:05:00Z")
    lake.request("m3", region="us", email_type="newsletter")
    # m4: delivered, opened, complained the next day.
    m4 = lake.message("m4", ["f@x.com"], "2026-03-01T13:00:00Z")
    m4.send()
    m4.delivery("f@x.com", "2026-03-01T13:00:02Z")
    m4.open("2026-03-01T13:10:00Z")
    m4.complaint("f@x.com", "2026-03-02T09:00:00Z")
    lake.request("m4", region="us", email_type="newsletter")
    # m5: sent just before midnight UTC, delivered just after; the delivery arrives three times.
    m5 = lake.message("m5", ["g@x.com"], "2026-03-01T23:59:59.900Z")
    m5.send()
    delivered = m5.delivery("g@x.com", "2026-03-02T00:00:00.100Z")
    lake.again(delivered, times=2)
    lake.request("m5", region="eu", email_type="receipt")
    # m6: opened twice, never clicked.
    m6 = lake.message("m6", ["h@x.com"], "2026-03-01T14:00:00Z")
    m6.send()
    m6.delivery("h@x.com", "2026-03-01T14:00:01Z")
    m6.open("2026-03-01T14:05:00Z")
    m6.open("2026-03-01T15:00:00Z")
    lake.request("m6", region="us", email_type="newsletter")
    # m7: a click with no recorded open (images blocked).
    m7 = lake.message("m7", ["i@x.com"], "2026-03-01T15:00:00Z")
    m7.send()
    m7.delivery("i@x.com", "2026-03-01T15:00:01Z")
    m7.click("2026-03-01T15:10:00Z")
    lake.request("m7", region="us", email_type="newsletter")
    # m8: opened and unsubscribed months after the send.
    m8 = lake.message("m8", ["j@x.com"], "2026-03-01T16:00:00Z")
    m8.send()
    m8.delivery("j@x.com", "2026-03-01T16:00:01Z")
    m8.open("2026-06-15T08:00:00Z")
    m8.unsubscribe("2026-06-15T08:01:00Z")
    lake.request("m8", region="eu", email_type="receipt")
    # m9: requested, no event yet.
    lake.request("m9", recipient="k@x.com", region="us", email_type="newsletter")
    # m10: rejected by SES, no internal row.
    lake.message("m10", ["l@x.com"], "2026-03-01T17:00:00Z").reject()
    # m11: send, delivery and an opt-in all at the send's millisecond (lifecycle order decides).
    m11 = lake.message("m11", ["n@x.com"], "2026-03-01T17:30:00Z")
    m11.send()
    m11.delivery("n@x.com", "2026-03-01T17:30:00Z")
    m11.unsubscribe("2026-03-01T17:30:00Z", unsubscribe_all=False, topic_status="OptIn")
    lake.request("m11", region="eu", email_type="receipt")
    # m12: sent just after midnight, hard bounce, no internal row.
    m12 = lake.message("m12", ["o@x.com"], "2026-03-02T00:00:00.050Z")
    m12.send()
    m12.bounce("o@x.com", "Permanent", "NoEmail", "2026-03-02T00:00:01Z")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAthena]:
    lake = LakeBuilder(tmp_path_factory.mktemp("scenario"))
    build_scenario(lake)
    engine = lake.engine()
    yield engine
    engine.close()
