"""Ingest benchmarks, side by side in one run on the same generated input.

For each of two inputs, the bench's 100,000 SNS-wrapped events (`add_payload`, as an SQS batch
hands them over) and a Firehose object of the same number of bare records (`add_stream`):

1. the ingest core's events/second, envelope to Parquet files, single process;
2. the floor: parsing alone (`orjson.loads` of every JSON layer, nothing kept) plus encoding
   alone (the core's own output tables written to Parquet again with the writer's options):
   what the run would take if everything between cost nothing. The target is the core at
   >= 0.5x the floor's events/second;
3. the core stage by stage (decoding into types, rows, rows to Arrow), the rest being the
   writer's buffering, spills and commit;
4. for the SNS input, a naive baseline for context: json + pandas.json_normalize +
   DataFrame.to_parquet.

Then peak RSS while ingesting a 1 GB Firehose object (and a 250 MB one: memory must not grow),
and the import time of each handler module in a fresh process, in a Lambda-like site (the
layer's requirements only, so no pandas), and whether pandas was imported.

Rates are the best of three runs each, the runs of the core and of the floor interleaved (this
machine's neighbours come and go), the cyclic garbage collector paused for all alike.

Usage: python bench/ingest_bench.py [--events N] [--firehose-mb M] [--skip-rss]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from traffic import firehose_lines, ses_records, sns_payloads  # noqa: E402

RUNS = 3


class Run:
    """Something to time, and what to do before each run, untimed (clear the last output)."""

    def __init__(self, run: Callable[[], object], before: Callable[[], object] = lambda: None):
        self.run, self.before = run, before


def timed(run: Run) -> float:
    """Seconds of one run, with the cyclic garbage collector paused, as the core pauses it."""
    from seslake.ingest import paused_gc

    run.before()
    with paused_gc():
        start = time.perf_counter()
        run.run()
        return time.perf_counter() - start


def interleaved(runs: dict[str, Run]) -> dict[str, float]:
    """The best of RUNS runs of each, taking turns (neighbours slow all alike)."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(RUNS):
        for name, run in runs.items():
            best[name] = min(best[name], timed(run))
    return best


def core_run(feed: Callable[[Any], None], out: Path) -> Run:
    """One run of the core: a fresh Ingestor on an empty local lake at `out`, fed, committed
    (the last run's files are deleted before, untimed)."""
    from seslake.ingest import Ingestor
    from seslake.lake import LocalLake

    def run() -> None:
        ingestor = Ingestor(LocalLake(out))
        feed(ingestor)
        ingestor.commit()

    return Run(run, lambda: shutil.rmtree(out, ignore_errors=True))


def encode_run(lake: Path) -> Run:
    """Writing the core's output tables (as in `lake`) to Parquet again, with the writer's
    options: the encoding the core cannot avoid."""
    import pyarrow.parquet as pq

    from seslake.writer import PARQUET_OPTIONS, ROW_GROUP_ROWS

    tables = [pq.ParquetFile(f).read() for f in sorted(lake.rglob("*.parquet"))]

    def run() -> None:
        for table in tables:
            pq.write_table(table, io.BytesIO(), ROW_GROUP_ROWS, **PARQUET_OPTIONS)

    return Run(run)


def stage_seconds(documents: list[bytes], read: Callable[[bytes], Any]) -> dict[str, float]:
    """Each stage of the core on its own: `read` (a document to its record in types), rows,
    rows to Arrow."""
    from seslake.schema import ROW_LAYOUTS
    from seslake.typed import rows
    from seslake.writer import rows_to_layout

    decoded: list[Any] = []
    events: list[Any] = []

    def decode() -> None:
        decoded[:] = [read(d) for d in documents]

    def normalize() -> None:
        events[:] = [rows(record, "b", 0, raw) for record, raw in decoded]

    def to_arrow() -> None:
        by_layout: dict[str, list[Any]] = {}
        for event_type, _, _, buffered in events:
            by_layout.setdefault(event_type, []).extend(buffered)
        for event_type, layout_rows in by_layout.items():
            rows_to_layout(layout_rows, ROW_LAYOUTS[event_type])

    best = interleaved({"decode": Run(decode)})  # in order: each stage reads the one before
    best |= interleaved({"rows": Run(normalize)})
    best |= interleaved({"rows_to_arrow": Run(to_arrow)})
    assert all(e is not None for e in events), "a bench record left the typed path"
    return best


def naive_run(payloads: list[bytes], out: Path) -> Run:
    import pandas as pd

    def run() -> None:
        records = [json.loads(json.loads(p)["Message"]) for p in payloads]
        frame = pd.json_normalize(records)
        frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        frame.to_parquet(out / "naive.parquet", compression="zstd")

    return Run(run)


def compare(
    name: str,
    n: int,
    feed: Callable[[Any], None],
    parse: Callable[[], None],
    documents: list[bytes],
    read: Callable[[bytes], Any],
    work: Path,
    extra: dict[str, Run] | None = None,
) -> dict[str, Any]:
    """The core against its floor on one input, side by side."""
    lake = work / name
    core = core_run(feed, lake)
    timed(core)  # once first, for its output (what the encoding run encodes), and warm
    encode = encode_run(lake)
    best = interleaved({"core": core, "parse": Run(parse), "encode": encode, **(extra or {})})
    floor = best["parse"] + best["encode"]
    report: dict[str, Any] = {
        "events": n,
        "core_events_per_s": round(n / best["core"]),
        "floor_events_per_s": round(n / floor),
        "core_vs_floor": round(floor / best["core"], 3),
        "parse_only_events_per_s": round(n / best["parse"]),
        "encode_only_events_per_s": round(n / best["encode"]),
        "parquet_files": sum(1 for _ in lake.rglob("*.parquet")),
    }
    if "naive" in best:
        report["naive_events_per_s"] = round(n / best["naive"])
        report["core_vs_naive"] = round(best["naive"] / best["core"], 2)
    stages = {"parse": best["parse"], **stage_seconds(documents, read), "encode": best["encode"]}
    stages["core"] = best["core"]
    report["us_per_event"] = {k: round(v / n * 1e6, 1) for k, v in stages.items()}
    return report


def sns_input(n: int, work: Path) -> dict[str, Any]:
    payloads = sns_payloads(n)

    def feed(ingestor: Any) -> None:
        for i, payload in enumerate(payloads):
            ingestor.add_payload(payload, f"sqs:{i}")
        assert ingestor.pending_rows >= len(payloads)

    def parse() -> None:
        for payload in payloads:
            orjson.loads(orjson.loads(payload)["Message"])

    from seslake.envelopes import sns_message
    from seslake.records import decode_line

    def read(payload: bytes) -> Any:  # what add_payload does with an SNS notification
        return decode_line(sns_message(orjson.loads(payload)) or "")

    naive = {"naive": naive_run(payloads, work)}
    report = compare("sns", n, feed, parse, payloads, read, work, naive)
    report["avg_envelope_bytes"] = round(sum(map(len, payloads)) / n)
    return report


def firehose_input(n: int, work: Path) -> dict[str, Any]:
    """A Firehose object of n bare records, one per line, as SES's Firehose destination writes."""
    lines = firehose_lines(n)
    data = b"\n".join(lines) + b"\n"
    chunks = [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)]

    def feed(ingestor: Any) -> None:
        ingestor.add_stream(chunks, "s3://bench/firehose", "firehose")

    def parse() -> None:
        for line in data.split(b"\n"):
            if line:
                orjson.loads(line)

    from seslake.records import decode_line

    report = compare("firehose", n, feed, parse, lines, decode_line, work)
    report["object_mb"] = round(len(data) / (1 << 20), 1)
    return report


def write_firehose_object(path: Path, megabytes: int) -> int:
    """A Firehose object of about `megabytes` MB: one compact SES record per line."""
    records = ses_records(20_000, seed=11)
    lines = [orjson.dumps(r) for r in records]
    target = megabytes << 20
    written = count = 0
    rng = random.Random(3)
    with path.open("wb") as f:
        while written < target:
            line = lines[rng.randrange(len(lines))].replace(
                b'"messageId":"0100018', b'"messageId":"%08x' % count, 1
            )
            f.write(line + b"\n")
            written += len(line) + 1
            count += 1
    return count


RSS_CHILD = """
import sys, json
from collections.abc import Callable
from pathlib import Path
from seslake.lake import LocalLake
from seslake.sources import ingest_files
stats = ingest_files([Path(sys.argv[1])], LocalLake(sys.argv[2]))
# VmHWM is this process image's own peak; ru_maxrss would carry the parent's over exec.
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"rows": stats.rows, "quarantined": stats.quarantined,
                  "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""


def firehose_rss(megabytes: int, workdir: Path) -> dict[str, float]:
    path = workdir / f"firehose-{megabytes}mb"
    records = write_firehose_object(path, megabytes)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(path), str(workdir / f"lake-{megabytes}")],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    result["seconds"] = time.perf_counter() - start
    result["records"] = records
    result["mb"] = path.stat().st_size / (1 << 20)
    path.unlink()
    shutil.rmtree(workdir / f"lake-{megabytes}")
    return result


IMPORT_CHILD = """
import sys, time, json, importlib.util
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
elapsed = time.perf_counter() - start
from seslake.ingest import Ingestor
from seslake.lake import LocalLake
ingestor = Ingestor(LocalLake(sys.argv[2]))
ingestor.add_payload(open(sys.argv[3], "rb").read(), "bench")
ingestor.commit()
print(json.dumps({"import_ms": elapsed * 1000, "rows": ingestor.stats.rows,
                  "pandas_imported": "pandas" in sys.modules,
                  "awswrangler_imported": "awswrangler" in sys.modules}))
"""


def lambda_site() -> Path:
    """The layer's requirements installed alone (as Lambda sees them), plus boto3."""
    site = ROOT / "build" / "lambda-site"
    stamp = site / ".installed"
    requirements = (ROOT / "layers/seslake/requirements.txt").read_text()
    if not stamp.exists() or stamp.read_text() != requirements:  # installed, and up to date
        shutil.rmtree(site, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(site),
                "-r",
                str(ROOT / "layers/seslake/requirements.txt"),
                "boto3",
            ],
            check=True,
        )
        stamp.write_text(requirements)
    return site


def import_times(workdir: Path) -> dict[str, dict[str, object]]:
    site = lambda_site()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": f"{ROOT / 'layers/seslake'}:{site}",
        "PYTHONNOUSERSITE": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "seslake",
    }
    sample = ROOT / "events/ingest_sns/sqs-sns-wrapped.json"
    results: dict[str, dict[str, object]] = {}
    for name in ("ingest_sns", "ingest_s3"):
        runs = []
        for i in range(3):
            out = subprocess.run(
                [
                    sys.executable,
                    "-S",
                    "-c",
                    f"import sys; sys.path[:0] = {str(env['PYTHONPATH']).split(':')!r}\n"
                    + IMPORT_CHILD,
                    str(ROOT / "functions" / name / "app.py"),
                    str(workdir / f"imp-{name}-{i}"),
                    str(sample),
                ],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            runs.append(json.loads(out.stdout))
        best = min(runs, key=lambda r: r["import_ms"])
        results[name] = best
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--firehose-mb", type=int, default=1024)
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()

    report: dict[str, object] = {"events": args.events}
    if not args.skip_rss:
        with tempfile.TemporaryDirectory() as tmp:
            for mb in sorted({max(args.firehose_mb // 4, 1), args.firehose_mb}):
                print(f"ingesting a {mb} MB Firehose object in a fresh process...", file=sys.stderr)
                report[f"firehose_{mb}mb"] = firehose_rss(mb, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{args.events:,} SNS-wrapped events: core, floor, naive...", file=sys.stderr)
        report["sns"] = sns_input(args.events, work)
        print(f"a Firehose object of {args.events:,} records: core, floor...", file=sys.stderr)
        report["firehose"] = firehose_input(args.events, work)
        print("handler imports in a Lambda-like site...", file=sys.stderr)
        report["handler_imports"] = import_times(work)
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
