"""Compaction's peak memory must not grow with the partition: measured on two partition sizes.

A partition of many small Parquet files (as a busy day of ingest leaves them) is built in a
local lake from real ingest output: 20,000 generated events ingested once, then copied with
fresh event_ids (plus one file of duplicates), and compacted in a fresh process whose peak
RSS (`VmHWM`) is reported.

The default sizes sit just under six and twenty-four buckets (16 MB of Parquet input each),
so both partitions have full buckets: peak memory follows the bucket (plus the event ids of
the output file being written, kept to verify it), not the partition.

Usage: python bench/compaction_bench.py [--sizes-mb 95 380]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from traffic import sns_payloads  # noqa: E402

PARTITION = "ses_events/event_type=delivery/dt=2026-11-01/"

CHILD = """
import json, sys
from seslake.compaction import compact_lake
from seslake.lake import LocalLake
stats = compact_lake(LocalLake(sys.argv[1]), before="2026-11-02")
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({**stats.as_dict(), "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""


def seed_table(workdir: Path) -> object:
    """Rows of real ingest output."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from seslake.ingest import Ingestor
    from seslake.lake import LocalLake

    ingestor = Ingestor(LocalLake(workdir / "seed"))
    for i, payload in enumerate(sns_payloads(20_000)):
        ingestor.add_payload(payload, f"sqs:{i}")
    ingestor.commit()
    tables = [pq.read_table(p) for p in sorted((workdir / "seed").rglob("*.parquet"))]
    return pa.concat_tables([t.select(tables[0].schema.names) for t in tables])


def build_partition(lake: Path, table: object, megabytes: int) -> tuple[int, int]:
    """Files of about 1 MB each until the partition holds `megabytes`; (files, rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from seslake.writer import PARQUET_OPTIONS

    assert isinstance(table, pa.Table)
    folder = lake / PARTITION
    folder.mkdir(parents=True)
    written = files = rows = 0
    step = 2_000
    while written < megabytes << 20:
        start = (files * step) % max(table.num_rows - step, 1)
        part = table.slice(start, step)
        ids = pc.binary_join_element_wise(part.column("event_id"), pa.scalar(f"{files:08x}"), "")
        part = part.set_column(part.schema.get_field_index("event_id"), "event_id", ids)
        path = folder / f"part-{files:06d}.parquet"
        pq.write_table(part, path, **PARQUET_OPTIONS)
        written += path.stat().st_size
        files += 1
        rows += part.num_rows
    pq.write_table(part, folder / "part-duplicates.parquet", **PARQUET_OPTIONS)  # a retry's copy
    return files + 1, rows + part.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[95, 380])
    args = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("ingesting 20,000 events for the seed rows...", file=sys.stderr)
        table = seed_table(work)
        for megabytes in args.sizes_mb:
            lake = work / f"lake-{megabytes}"
            print(f"building a {megabytes} MB partition...", file=sys.stderr)
            files, rows = build_partition(lake, table, megabytes)
            print("compacting it in a fresh process...", file=sys.stderr)
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(lake)], check=True, capture_output=True, text=True
            )
            result = json.loads(out.stdout)
            result.update(
                {"input_mb": megabytes, "rows": rows, "seconds": time.perf_counter() - start}
            )
            assert result["files_in"] == files and result["rows_in"] == rows, result
            assert result["duplicates"] == 2_000, result
            report[f"partition_{megabytes}mb"] = result
    print(json.dumps(report, indent=2))
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "compaction.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
