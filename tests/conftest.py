"""Shared fixtures: sample events from events/, a fake Lambda context, moto-backed AWS."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

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
        entries += [json.loads(line) for line in path.read_text().splitlines()]
    return entries


@dataclass
class FakeLambdaContext:
    function_name: str = "seslake-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:seslake-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/seslake-test"
    log_stream_name: str = "2026/11/29/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


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
