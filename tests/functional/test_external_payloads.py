"""98 real SES payloads other projects wrote or captured (tests/fixtures/ses-external, copied
from the shared fixtures with their MANIFEST.tsv): each yields the rows its manifest names, or
is quarantined with the right kind of reason; loading them one by one equals loading them at
once; a replay adds nothing."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from seslake.lake import LocalLake
from seslake.sources import ingest_files
from tests.conftest import ROOT, read_events, read_quarantine

FIXTURES = ROOT / "tests" / "fixtures" / "ses-external"
MANIFEST = list(csv.DictReader((FIXTURES / "MANIFEST.tsv").open(), delimiter="\t"))

#: What the manifest calls each kind of quarantine, and what seslake's reason then says.
KINDS = {
    "is not about sent mail": r"not an SES sending event",
    "is not an SES sending event type": r"not an SES sending event",
    "not SES sending events": r"not an SES (sending )?event",
    "EventBridge '": r"not an SES (sending )?event: EventBridge",
    "SNS Message is not JSON": r"SNS Message is not JSON|SES's test message to a topic",
    "SNS control message": r"not an SES event: an SNS (Subscription|Unsubscribe)Confirmation",
    "JSON object that is not SES or a known envelope": r"not an SES event or a known envelope",
    "SQS body is not JSON": r"SQS body is not JSON",
    "timestamp": r"timestamp",
    "no recipient can be named": r"destination|recipient",
    "no mail.destination": r"destination",
    "JSON str": r"JSON str",
    "not JSON": r"not JSON",
}


def expected_rows(text: str) -> Counter[str]:
    head = text.split(";")[0]
    return Counter({kind: int(n) for n, kind in re.findall(r"(\d+) ([a-z_]+)(?=[ ,])", head)})


def kind_pattern(text: str) -> str:
    for phrase, pattern in KINDS.items():
        if phrase in text:
            return pattern
    raise AssertionError(f"no kind known for the manifest's {text!r}")


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_each_payload_yields_what_its_manifest_says(entry: dict[str, str], tmp_path: Path) -> None:
    stats = ingest_files([FIXTURES / "payloads" / entry["file"]], LocalLake(tmp_path))
    rows = Counter(row["event_type"] for row in read_events(tmp_path))
    reasons = [e["reason"] for e in read_quarantine(tmp_path)]
    expected = entry["expected"]
    if "; or quarantined (" in expected:  # a trimmed fixture: rows, or one clear refusal
        quarantined_instead = kind_pattern(expected.split("; or quarantined (")[1])
        assert (
            rows == expected_rows(expected)
            and not reasons
            or (not rows and len(reasons) == 1 and re.search(quarantined_instead, reasons[0]))
        ), (rows, reasons)
        return
    assert rows == expected_rows(expected), reasons
    match = re.search(r"(\d+) unit\(s\) quarantined \((.*)\)", expected)
    if "SNS control message" in expected:
        assert len(reasons) == 1 and re.search(kind_pattern(expected), reasons[0]), reasons
    elif match is None:
        assert reasons == []
    else:
        assert stats.quarantined == int(match.group(1)), reasons
        for kind in match.group(2).split("; "):
            assert any(re.search(kind_pattern(kind), r) for r in reasons), (kind, reasons)


def _lake_contents(lake: Path) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    rows: Counter[tuple[object, ...]] = Counter(
        (r["event_id"], r["event_type"], r["message_id"], r["recipient"], r["raw"])
        for r in read_events(lake)
    )
    quarantine: Counter[tuple[object, ...]] = Counter(
        (e["reason"], e["payload"], e.get("count", 1)) for e in read_quarantine(lake)
    )
    return rows, quarantine


def test_one_by_one_equals_all_at_once_and_a_replay_adds_nothing(tmp_path: Path) -> None:
    files = [FIXTURES / "payloads" / m["file"] for m in MANIFEST]
    together, apart = tmp_path / "together", tmp_path / "apart"
    ingest_files(files, LocalLake(together))
    for path in files:
        ingest_files([path], LocalLake(apart))
    assert _lake_contents(together) == _lake_contents(apart)
    derivable = sum(
        sum(expected_rows(m["expected"]).values())
        for m in MANIFEST
        if "; or quarantined (" not in m["expected"]  # trimmed fixtures are quarantined here
    )
    assert sum(_lake_contents(together)[0].values()) == derivable == 72

    written = sorted(p.relative_to(together) for p in together.rglob("*") if p.is_file())
    ingest_files(files, LocalLake(together))
    again = sorted(p.relative_to(together) for p in together.rglob("*") if p.is_file())
    assert again == written
    assert _lake_contents(together) == _lake_contents(apart)
