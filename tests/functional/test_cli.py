"""`seslake ingest` and `seslake schema`, run through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seslake_cli.commands import main
from tests.conftest import ROOT, SES, read_events


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_prints_one_json_line_of_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "ingest",
        str(SES / "publishing"),
        str(SES / "envelopes/firehose-batch.txt"),
        "--lake",
        str(tmp_path),
        "--no-progress",
    )
    summary = json.loads(out)
    assert code == 0
    assert {k: summary[k] for k in ("files", "records", "rows", "quarantined")} == {
        "files": 11,
        "records": 20,
        "rows": 20,
        "quarantined": 0,
    }
    assert len(read_events(tmp_path)) == 20


def test_ingest_the_bundled_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "ingest", str(ROOT / "events"), "--lake", str(tmp_path), "--no-progress"
    )
    summary = json.loads(out)
    assert code == 0
    assert summary["rows"] == len(read_events(tmp_path)) > 40
    assert (
        summary["records"] == summary["rows"] - 1 + summary["quarantined"]
    )  # one bounce has 2 rows
    assert summary["quarantine_reasons"]


def test_missing_source_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "ingest", str(tmp_path / "nope.json"), "--lake", str(tmp_path))
    assert code == 2 and "no such file or folder" in err


def test_unwritable_lake_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("not a folder")
    code, _, err = run(
        capsys, "ingest", str(SES / "publishing/send.json"), "--lake", str(blocker), "--no-progress"
    )
    assert code == 1 and "could not be written" in err and "cannot write" in err


def test_bad_lake_uri(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ingest", str(SES / "publishing/send.json"), "--lake", "gs://x")
    assert code == 1 and "unsupported lake location" in err


def test_docs_schema_is_generated_from_the_schema_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert (ROOT / "docs/schema.md").read_text() == out, "run: seslake schema > docs/schema.md"


def test_every_subcommand_and_option_is_documented() -> None:
    """docs/cli.md names every subcommand as `seslake NAME` and every long option of each."""
    import argparse

    from seslake_cli.commands import _parser

    documented = (ROOT / "docs" / "cli.md").read_text()
    parser = _parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for name, sub in subparsers.choices.items():
        if f"seslake {name}" not in documented:
            missing.append(f"seslake {name}")
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option not in documented:
                    missing.append(f"seslake {name} {option}")
    assert missing == []
