"""Shared fixtures: sample events from events/, a fake Lambda context, moto-backed AWS."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from seslake_cli.stack import LocalContext

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SES = EVENTS / "ses"


def event_path(name: str) -> Path:
    """A file under events/ (e.g. "ses/publishing/send.json")."""
    return EVENTS / name


def load_event(name: str) -> Any:
    """A sample event under events/, parsed."""
    return json.loads(event_path(name).read_bytes())


def read_events(lake_root: Path) -> list[dict[str, Any]]:
    """Every row of the ses_events table under a local lake, partitions included."""
    table_dir = lake_root / "ses_events"
    if not table_dir.exists():
        return []
    dataset = ds.dataset(
        table_dir,
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([("event_type", pa.string()), ("dt", pa.string())]), flavor="hive"
        ),
    )
    rows: list[dict[str, Any]] = dataset.to_table().to_pylist()
    return sorted(
        rows,
        key=lambda r: (
            r["event_type"],
            r["message_id"],
            r["recipient"],
            r["event_at"],
            r["event_id"],
        ),
    )


def read_quarantine(lake_root: Path) -> list[dict[str, Any]]:
    entries = []
    for path in sorted((lake_root / "quarantine").glob("*.jsonl")):
        entries += [json.loads(line) for line in path.read_text().split("\n") if line]
    return entries


@pytest.fixture
def lambda_context() -> LocalContext:
    """The same fake Lambda context `seslake invoke` and the demo give handlers."""
    return LocalContext("seslake-test")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region that can only ever reach moto."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "seslake",
        "POWERTOOLS_SERVICE_NAME": "seslake",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_aws(aws_env: None) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


os.environ.setdefault("POWERTOOLS_DEV", "false")
