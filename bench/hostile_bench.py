"""Hostile and awkward Firehose objects through the real ingest, each in a fresh process.

Peak RSS (the child's own VmHWM) and wall time of `ingest_files` on:
- junk: lines that are not JSON (100 MB);
- gzip bomb: 255 KB of gzip inflating to 256 MB of zero bytes; and `{}` lines inflating
  the same way;
- back to back: SES records with no separator at all (64 MB), and the same with newlines;
- partitions: one object whose records span 3,650 (event type, day) partitions (a year's
  backfill), enough of them that the writer spills.
Targets (issue 12): under 512 MB each, time linear in the size, nothing written twice or lost
(rows + quarantine entries account for every record). Writes bench/out/hostile.json.

    python bench/hostile_bench.py [--scale 0.25]   # a quarter of every size, for a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from traffic import ses_records  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"

CHILD = """
import sys, json
from pathlib import Path
from seslake.lake import LocalLake
from seslake.sources import ingest_files
stats = ingest_files([Path(sys.argv[1])], LocalLake(sys.argv[2]))
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
quarantine = sum(p.stat().st_size for p in Path(sys.argv[2]).glob("quarantine/*.jsonl"))
print(json.dumps({"rows": stats.rows, "quarantined": stats.quarantined,
                  "files_written": stats.files_written, "quarantine_bytes": quarantine,
                  "peak_rss_mb": round(int(hwm.split()[1]) / 1024, 1)}))
"""


def _records(count: int) -> list[bytes]:
    return [orjson.dumps(r) for r in ses_records(count, seed=5)]


def junk(path: Path, megabytes: float) -> int:
    rng = random.Random(1)
    target, written, lines = int(megabytes * (1 << 20)), 0, 0
    with path.open("wb") as f:
        while written < target:
            line = b"junk %d " % rng.randrange(10**9) + b"x" * rng.randrange(20, 200) + b"\n"
            f.write(line)
            written += len(line)
            lines += 1
    return lines


def zero_bomb(path: Path, megabytes: float) -> int:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    with path.open("wb") as f:
        for _ in range(int(megabytes)):
            f.write(deflate.compress(block))
        f.write(deflate.flush())
    return 1


def empty_object_bomb(path: Path, megabytes: float) -> int:
    line = b"{}\n"
    count = int(megabytes * (1 << 20)) // len(line)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(line * count)
    return count


def back_to_back(path: Path, megabytes: float, separator: bytes = b"") -> int:
    lines = _records(2_000)
    target, written, count = int(megabytes * (1 << 20)), 0, 0
    with path.open("wb") as f:
        while written < target:
            record = lines[count % len(lines)].replace(
                b'"messageId":"0100018', b'"messageId":"%08x' % count, 1
            )
            f.write(record + separator)
            written += len(record) + len(separator)
            count += 1
    return count


def with_newlines(path: Path, megabytes: float) -> int:
    return back_to_back(path, megabytes, b"\n")


def many_partitions(path: Path, days: float) -> int:
    """One record per (type, day) for `days` days of sends and deliveries: 2 x days partitions."""
    samples = Path(__file__).resolve().parent.parent / "events" / "ses" / "publishing"
    send, delivery = ((samples / name).read_bytes() for name in ("send.json", "delivery.json"))
    count = 0
    with path.open("wb") as f:
        for day in range(int(days)):
            stamp = time.strftime("%Y-%m-%d", time.gmtime(1_600_000_000 + day * 86_400))
            for template in (send, delivery):
                for copy in range(RECORDS_PER_PARTITION):
                    record = orjson.loads(template)
                    record["mail"]["timestamp"] = f"{stamp}T10:00:00.000Z"
                    record["mail"]["messageId"] = f"partition-{day:05d}-{copy}"
                    if "delivery" in record:
                        record["delivery"]["timestamp"] = f"{stamp}T10:00:01.000Z"
                    f.write(orjson.dumps(record) + b"\n")
                    count += 1
    return count


#: Enough rows (6 x 3,650) that the writer spills to disk before the end of the object.
RECORDS_PER_PARTITION = 6

CASES: dict[str, tuple[Callable[[Path, float], int], float]] = {
    "junk_100mb": (junk, 100),
    "gzip_bomb_zeros_256mb": (zero_bomb, 256),
    "gzip_bomb_empty_objects_256mb": (empty_object_bomb, 256),
    "back_to_back_64mb": (back_to_back, 64),
    "newlines_64mb": (with_newlines, 64),
    "partitions_3650": (many_partitions, 1825),
}


def run_case(name: str, scale: float, workdir: Path) -> dict[str, object]:
    make, size = CASES[name]
    path = workdir / name
    records = make(path, size * scale)
    lake = workdir / f"lake-{name}"
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(lake)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    result: dict[str, object] = {
        "input_mb": round(path.stat().st_size / (1 << 20), 2),
        "records_written": records,
        "seconds": round(seconds, 1),
    }
    if out.returncode != 0:
        result["error"] = out.stderr.strip().splitlines()[-1] if out.stderr else "no output"
    else:
        result.update(json.loads(out.stdout))
    path.unlink()
    shutil.rmtree(lake, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.cases:
            results[name] = run_case(name, args.scale, Path(scratch))
            print(name, json.dumps(results[name]), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "hostile.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
