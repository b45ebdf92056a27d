"""What the ingest core writes for a fixed set of inputs, in short: a digest of every file.

The inputs are every sample under events/ and tests/fixtures/ses-external (each as a stream, as
one payload, and the Lambda events as Lambda events), and the benchmark's 100,000 events (as
SNS-wrapped payloads and as a Firehose object of bare records). Each lake file is summed up by
its key, its row count and a SHA-256 of its schema and rows in order; each quarantine file by a
SHA-256 of its entries. Two cores that give the same summary write the same files, row for row.

`tests/data/core_reference.json` holds the summary the core gave before the native decoder
(recorded with `python -m tests.core_reference --write`); test_core_equivalence compares the
core of today with it, and the decoder's fast path with the general path, input by input.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pyarrow.parquet as pq

from seslake.envelopes import LAMBDA_EVENT, Unit
from seslake.ingest import Ingestor, paused_gc
from seslake.lake import LocalLake

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "core_reference.json"
#: The ingest clock of every run (it is a column): 2026-11-30T00:00:00Z.
NOW_MS = 1_795_996_800_000
BENCH_EVENTS = 100_000

Feed = Callable[[Ingestor], None]


def sample_files() -> list[Path]:
    folders = [
        ROOT / "events" / "ses",
        ROOT / "events" / "ingest_sns",
        ROOT / "events" / "ingest_s3",
    ]
    folders.append(ROOT / "tests" / "fixtures" / "ses-external" / "payloads")
    return sorted(p for folder in folders for p in folder.rglob("*.json"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def traffic() -> ModuleType:
    """bench/traffic.py: the benchmark's generated SES traffic."""
    spec = importlib.util.spec_from_file_location(
        "seslake_bench_traffic", ROOT / "bench" / "traffic.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_sns_payloads() -> list[bytes]:
    payloads: list[bytes] = traffic().sns_payloads(BENCH_EVENTS)
    return payloads


def bench_firehose_object() -> bytes:
    """The benchmark's Firehose object: its records, one compact record per line."""
    lines: list[bytes] = traffic().firehose_lines(BENCH_EVENTS)
    return b"\n".join(lines) + b"\n"


def inputs() -> Iterator[tuple[str, Feed]]:
    """(group, what to feed one Ingestor) for every input of the reference."""
    for path in sample_files():
        name = _name(path)
        yield f"stream {name}", _as_stream(name, path.read_bytes())
        yield f"payload {name}", _as_payload(name, path.read_bytes())
        if path.parent.name == "ingest_sns":
            yield f"lambda {name}", _as_lambda_event(orjson.loads(path.read_bytes()))

    def sns(ingestor: Ingestor) -> None:
        for n, payload in enumerate(bench_sns_payloads()):
            ingestor.add_payload(payload, f"sqs:{n}")

    yield "bench sns", sns
    yield (
        "bench firehose",
        lambda i: i.add_stream([bench_firehose_object()], "firehose", "firehose"),
    )


def _as_stream(name: str, data: bytes) -> Feed:
    return lambda ingestor: ingestor.add_stream([data], name, name)


def _as_payload(name: str, data: bytes) -> Feed:
    return lambda ingestor: ingestor.add_payload(data, name, name)


def _as_lambda_event(event: object) -> Feed:
    return lambda ingestor: ingestor.add_value(event, Unit(b"", LAMBDA_EVENT, LAMBDA_EVENT))


def summary(lake: Path) -> dict[str, dict[str, Any]]:
    """key -> rows and SHA-256 of every file under a local lake."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in lake.rglob("*") if p.is_file()):
        key = path.relative_to(lake).as_posix()
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            digest = hashlib.sha256(str(table.schema).encode())
            for row in table.to_pylist():
                digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n")
            out[key] = {"rows": table.num_rows, "sha256": digest.hexdigest()}
        else:
            data = path.read_bytes()
            out[key] = {"lines": data.count(b"\n"), "sha256": hashlib.sha256(data).hexdigest()}
    return out


def run(feed: Feed, lake: Path, **options: Any) -> dict[str, dict[str, Any]]:
    """Feed one Ingestor, commit, and sum up what it wrote."""
    ingestor = Ingestor(LocalLake(lake), now_ms=NOW_MS, **options)
    with paused_gc():
        feed(ingestor)
        ingestor.commit()
    return summary(lake)


def record() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    groups: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for number, (group, feed) in enumerate(inputs()):
            groups[group] = run(feed, Path(tmp) / str(number))
            print(f"{group}: {len(groups[group])} files", file=sys.stderr)
    return {"recorded_at_commit": commit, "now_ms": NOW_MS, "groups": groups}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {_name(REFERENCE)}")
    args = parser.parse_args()
    result = record()
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if args.write:
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_bytes(text)
    else:
        sys.stdout.buffer.write(text)


if __name__ == "__main__":
    main()
