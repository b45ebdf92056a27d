"""Ingest benchmarks, side by side in one run on the same generated input.

1. the ingest core's events/second, envelope to Parquet bytes, single process;
2. a naive baseline: json + pandas.json_normalize + DataFrame.to_parquet;
3. the parse-only bound: orjson.loads of the envelopes and the messages, nothing else;
   and the encode-only cost: writing the core's own output tables to Parquet again, so
   parse + encode is what the run would take if normalizing cost nothing;
4. peak RSS while ingesting a 1 GB Firehose object (and a 250 MB one: memory must not grow);
5. import time of each handler module in a fresh process, in a Lambda-like site (the layer's
   requirements only, so no pandas), and whether pandas was imported.

Rates are the best of three runs each, the cyclic garbage collector paused for all alike.

Usage: python bench/ingest_bench.py [--events N] [--firehose-mb M] [--skip-rss]
"""

from __future__ import annotations

import argparse
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

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from traffic import ses_records, sns_payloads  # noqa: E402

RUNS = 3


def best_seconds(run: Callable[[int], object], runs: int = RUNS) -> float:
    """The fastest of `runs` runs (this machine's neighbours add noise, never speed), each with
    the cyclic garbage collector paused, as the core pauses it during bulk ingest."""
    from seslake.ingest import paused_gc

    times = []
    for number in range(runs):
        with paused_gc():
            start = time.perf_counter()
            run(number)
            times.append(time.perf_counter() - start)
    return min(times)


def core_seconds(payloads: list[bytes], out: Path) -> float:
    from seslake.ingest import Ingestor
    from seslake.lake import LocalLake

    def run(number: int) -> None:
        shutil.rmtree(out, ignore_errors=True)
        ingestor = Ingestor(LocalLake(out))
        for i, payload in enumerate(payloads):
            ingestor.add_payload(payload, f"sqs:{i}")
        ingestor.commit()
        assert ingestor.stats.rows == len(payloads), ingestor.stats

    return best_seconds(run)


def naive_seconds(payloads: list[bytes], out: Path) -> float:
    import pandas as pd

    def run(number: int) -> None:
        records = [json.loads(json.loads(p)["Message"]) for p in payloads]
        frame = pd.json_normalize(records)
        frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        frame.to_parquet(out / "naive.parquet", compression="zstd")

    return best_seconds(run)


def encode_seconds(lake: Path) -> float:
    """Seconds to write the core's output tables to Parquet again, with the writer's options."""
    import io

    import pyarrow.parquet as pq

    from seslake.writer import PARQUET_OPTIONS, ROW_GROUP_ROWS

    tables = [pq.ParquetFile(f).read() for f in sorted(lake.rglob("*.parquet"))]

    def run(number: int) -> None:
        for table in tables:
            pq.write_table(table, io.BytesIO(), ROW_GROUP_ROWS, **PARQUET_OPTIONS)

    return best_seconds(run)


def stage_seconds(payloads: list[bytes]) -> dict[str, float]:
    """Each stage of the core on its own: envelopes (parsing included), normalize, rows to Arrow."""
    from seslake.envelopes import Leaf, Unit, unwrap
    from seslake.normalize import normalize
    from seslake.writer import rows_to_table

    leaves: list[Leaf] = []
    rows: list[list[object]] = []

    def peel(number: int) -> None:
        leaves[:] = [
            leaf for p in payloads for leaf in unwrap(orjson.loads(p), Unit(p, "b", "b"), p)
        ]

    def rowify(number: int) -> None:
        records = [(leaf.record, leaf.raw) for leaf in leaves if leaf.record is not None]
        rows[:] = [row for record, raw in records for _, row in normalize(record, "b", 0, raw)[1]]

    return {
        "envelopes": best_seconds(peel),
        "normalize": best_seconds(rowify),
        "rows_to_arrow": best_seconds(lambda number: rows_to_table(rows)),
    }


def parse_seconds(payloads: list[bytes]) -> float:
    def run(number: int) -> None:
        for payload in payloads:
            orjson.loads(orjson.loads(payload)["Message"])

    return best_seconds(run)


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
    print(f"generating {args.events:,} SNS-wrapped SES events...", file=sys.stderr)
    payloads = sns_payloads(args.events)
    size = sum(map(len, payloads)) / len(payloads)
    report["avg_envelope_bytes"] = round(size)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n = len(payloads)
        print(f"parse only, best of {RUNS}...", file=sys.stderr)
        parse = parse_seconds(payloads)
        print(f"core, best of {RUNS}...", file=sys.stderr)
        core = core_seconds(payloads, work / "core")
        encode = encode_seconds(work / "core")
        print(f"naive baseline, best of {RUNS}...", file=sys.stderr)
        naive = naive_seconds(payloads, work)
        report.update(
            {
                "parse_only_events_per_s": round(n / parse),
                "core_events_per_s": round(n / core),
                "naive_events_per_s": round(n / naive),
                "core_vs_naive": round(naive / core, 2),
                "core_vs_parse_only": round(parse / core, 3),
                "target_events_per_s": round(max(10 * n / naive, 0.5 * n / parse)),
                "parquet_files": sum(1 for _ in (work / "core").rglob("*.parquet")),
                "encode_only_events_per_s": round(n / encode),
                "parse_plus_encode_events_per_s": round(n / (parse + encode)),
            }
        )
        stages = {"parse": parse, **stage_seconds(payloads), "encode": encode, "core": core}
        report["us_per_event"] = {k: round(v / n * 1e6, 1) for k, v in stages.items()}
        del payloads
        print("handler imports in a Lambda-like site...", file=sys.stderr)
        report["handler_imports"] = import_times(work)
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
