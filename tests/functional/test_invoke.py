"""`seslake invoke`: every function of the template, on every sample event of events/<name>/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seslake_cli.commands import main
from seslake_cli.invoke import function_names
from seslake_cli.stack import load_template
from tests.conftest import EVENTS

FUNCTIONS = function_names(load_template())
CASES = [
    (name, path) for name in sorted(FUNCTIONS) for path in sorted((EVENTS / name).glob("*.json"))
]


def test_every_function_has_a_sample_event() -> None:
    assert sorted({name for name, _ in CASES}) == sorted(FUNCTIONS)


@pytest.mark.parametrize(("name", "event"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_invoke_runs_the_real_handler(
    name: str, event: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", name, str(event)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["function"] == FUNCTIONS[name]
    response = result["response"]
    if name == "ingest_sns":
        assert response.get("batchItemFailures", []) == []
        assert any(k.startswith("lake/ses_events/") for k in result["lake_keys"])
    elif name == "ingest_s3":
        assert response["objects"][0]["rows"] > 0
    elif name == "load_internal":
        assert response["objects"][0]["rows"] == 2
        assert any(k.startswith("lake/ses_requests/") for k in result["lake_keys"])
    elif name == "create_views":
        assert result["cloudformation_response"]["Status"] == "SUCCESS"
    elif name == "compact":
        assert response["partitions"] == 0
    elif name == "backfill":
        assert response["files"] == 2 and response["rows"] > 0
    elif name == "erase":
        assert response["raw_records_removed"] == 10 and response["files_deleted"] == 1


def test_invoke_names_the_functions_when_one_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["invoke", "nope", str(EVENTS / "compact/scheduled.json")]) == 1
    assert "functions: backfill, compact, create_views, erase" in capsys.readouterr().err
