"""Backfill of the demo's traffic as raw Firehose objects (issue 16).

Writes the demo's 10,000 messages' SES records as Firehose objects would land under the raw
prefix (gzip, newline-delimited, one object per hour of event time, YYYY/MM/DD/HH/ keys), then
runs `seslake backfill` on them twice in fresh processes (both cores): objects and events per
second, and that the second run leaves the same files. From the measured cost per event it
prints the expected AWS cost of backfilling a billion events. Writes bench/out/backfill.json.

    python bench/backfill_bench.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson

from seslake_cli.demo.traffic import generate

OUT = Path(__file__).resolve().parent / "out"

#: Prices in us-east-1 (https://aws.amazon.com/lambda/pricing/,
#: https://aws.amazon.com/step-functions/pricing/, https://aws.amazon.com/s3/pricing/).
LAMBDA_GB_SECOND = 0.0000166667  # x86
LAMBDA_REQUEST = 0.20 / 1e6
STATE_TRANSITION = 0.025 / 1000  # standard workflows
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
#: The function's memory (template Globals) and the events per raw object in production:
#: Firehose buffers up to 128 MB or 900 s, so at volume an object holds tens of thousands.
MEMORY_GB = 1.0
EVENTS_PER_OBJECT = 20_000
BATCH = 25  # objects per child execution (seslake_cli.backfill.BATCH)
PARTITIONS_PER_OBJECT = 10  # files one object writes: (event type, day) partitions


def write_raw(folder: Path, messages: int) -> tuple[int, int]:
    """The demo's records as Firehose objects; (objects, records)."""
    traffic = generate(messages)
    by_hour: dict[str, list[bytes]] = defaultdict(list)
    for record in traffic.records:
        when = str(record.get("mail", {}).get("timestamp", "2026-01-01T00"))
        by_hour[f"{when[:4]}/{when[5:7]}/{when[8:10]}/{when[11:13]}"].append(orjson.dumps(record))
    for hour, lines in by_hour.items():
        path = folder / hour / f"seslake-firehose-1-{hour.replace('/', '-')}.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return len(by_hour), len(traffic.records)


def backfill(raw: Path, lake: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "seslake_cli", "backfill", str(raw), "--lake", str(lake)]
        + ["--no-progress"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        raw, lake = Path(scratch) / "raw", Path(scratch) / "lake"
        objects, records = write_raw(raw, args.messages)
        first = backfill(raw, lake)
        files = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))
        started = time.perf_counter()
        second = backfill(raw, lake)
        second_wall = time.perf_counter() - started
        assert second["failed"] == 0 and second["rows"] == first["rows"]
        again = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))
    seconds = float(str(first["seconds"]))
    events = int(str(first["records"]))
    # One Lambda batch on AWS does what one worker does here: cost per event from this run
    # (two workers, so worker-seconds are twice the wall time), at the function's memory.
    worker_seconds_per_event = 2 * seconds / events
    billion = 1e9
    objects_at_scale = billion / EVENTS_PER_OBJECT
    cost = {
        "lambda_gb_seconds": billion * worker_seconds_per_event * MEMORY_GB * LAMBDA_GB_SECOND,
        "lambda_requests": objects_at_scale / BATCH * LAMBDA_REQUEST,
        # each child execution: its start, the task's scheduled/started/succeeded, its end
        "state_transitions": objects_at_scale / BATCH * 5 * STATE_TRANSITION,
        "s3_requests": objects_at_scale * (2 * S3_GET + PARTITIONS_PER_OBJECT * S3_PUT),
    }
    cost["total"] = sum(cost.values())
    result = {
        "objects": objects,
        "records": records,
        "first": first,
        "second_seconds": round(second_wall, 2),
        "same_files_after_second_run": files == again,
        "files": len(files),
        "us_per_event_per_worker": round(worker_seconds_per_event * 1e6, 1),
        "cost_of_a_billion_events_usd": {k: round(v, 2) for k, v in cost.items()},
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "backfill.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
