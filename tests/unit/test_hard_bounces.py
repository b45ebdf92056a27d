"""The HardBounces metric (the bounce-rate alarm's numerator) counts what SES counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seslake.ingest import Ingestor
from seslake.lake import LocalLake
from tests.conftest import SES


@pytest.mark.parametrize(
    ("bounce_type", "subtype", "counted"),
    [
        ("Permanent", "General", 1),
        ("Permanent", "Suppressed", 1),  # the global list: SES counts it
        ("Permanent", "OnAccountSuppressionList", 0),  # your own list: SES does not
        ("Transient", "General", 0),
    ],
)
def test_hard_bounces_follow_ses(
    tmp_path: Path, bounce_type: str, subtype: str, counted: int
) -> None:
    record = json.loads((SES / "publishing" / "bounce-permanent.json").read_text())
    record["bounce"].update(bounceType=bounce_type, bounceSubType=subtype)
    ingestor = Ingestor(LocalLake(tmp_path))
    ingestor.add_payload(json.dumps(record).encode(), "test")
    ingestor.commit()
    recipients = len(record["bounce"]["bouncedRecipients"])
    assert ingestor.stats.hard_bounces == counted * recipients
