"""A question about a week, on a week of history and on a year of it (issue 15).

Builds the demo's lake (one week of sends, their events over the weeks after), then a copy
holding 51 more weeks before it: each file linked again into the partition 7, 14, ... 357 days
earlier (same daily volume, no extra disk). Runs, each in a fresh `seslake` process, on both
lakes: (a) a count of one week of ses_events_unique, bounded; (b) `seslake summary --since
--until` over that week; (c) one message's journey, bounded; (d) the unbounded
summary_by_region. Prints time, peak RSS and the files and bytes the bounded questions read.
Writes bench/out/history.json.

    python bench/history_bench.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
CHILD = """
import sys, json, io, contextlib
from seslake_cli.commands import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"code": code, "peak_rss_mb": round(int(hwm.split()[1]) / 1024, 1),
                  "lines": len(out.getvalue().splitlines())}))
"""


def seslake(*args: str) -> dict[str, object]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def year_of(week: Path, year: Path) -> int:
    """`week`'s files, and each again 7, 14, ... 357 days earlier; the number of files."""
    count = 0
    for source in (week / "ses_events").rglob("*.parquet"):
        kind, day = source.parent.parent.name, source.parent.name.removeprefix("dt=")
        for shift in range(52):
            moved = date.fromisoformat(day) - timedelta(days=7 * shift)
            target = year / "ses_events" / kind / f"dt={moved.isoformat()}"
            target.mkdir(parents=True, exist_ok=True)
            os.link(source, target / f"{source.stem}-w{shift:02d}.parquet")
            count += 1
    for source in (week / "ses_requests").glob("*.parquet"):
        (year / "ses_requests").mkdir(parents=True, exist_ok=True)
        os.link(source, year / "ses_requests" / source.name)
    return count


def scanned(lake: Path, first: str, last: str) -> dict[str, int]:
    files = [
        f
        for folder in (lake / "ses_events").glob("event_type=*/dt=*")
        if first <= folder.name.removeprefix("dt=") <= last
        for f in folder.glob("*.parquet")
    ]
    return {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "seslake_cli.commands",
                "demo",
                "--messages",
                str(args.messages),
                "--out",
                str(root / "demo"),
                "--keep",
                "--no-progress",
            ],
            check=True,
            capture_output=True,
        )
        week = root / "demo" / "lake"
        year = root / "year"
        files = year_of(week, year)
        days = sorted(p.name.removeprefix("dt=") for p in (week / "ses_events").glob("*/dt=*"))
        first = days[0]
        last = (date.fromisoformat(first) + timedelta(days=6)).isoformat()
        message = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "seslake_cli.commands",
                    "query",
                    f"select message_id from ses_events_unique where dt = '{first}' "
                    "and event_type = 'open' limit 1",
                    "--lake",
                    str(week),
                    "--format",
                    "json",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.splitlines()[0]
        )["message_id"]
        bounded = ["--since", first, "--until", last]
        questions = {
            "a_count_one_week": [
                "query",
                f"select count(*) from ses_events_unique where dt between '{first}' and '{last}'",
                *bounded,
                "--window-days",
                "0",
            ],
            "b_summary_one_week": ["summary", *bounded],
            "c_journey": ["journey", message, *bounded],
            "d_summary_by_region_unbounded": ["query", "summary_by_region"],
        }
        results: dict[str, object] = {
            "week": {"files": sum(1 for _ in (week / "ses_events").rglob("*.parquet"))},
            "year": {"files": files},
            "scanned_a": {"week": scanned(week, first, last), "year": scanned(year, first, last)},
            "scanned_b": {
                "week": scanned(
                    week, first, (date.fromisoformat(last) + timedelta(days=30)).isoformat()
                ),
                "year": scanned(
                    year, first, (date.fromisoformat(last) + timedelta(days=30)).isoformat()
                ),
            },
        }
        for name, argv in questions.items():
            results[name] = {
                lake_name: seslake(*argv, "--lake", str(lake), "--format", "csv")
                for lake_name, lake in (("week", week), ("year", year))
            }
            print(name, json.dumps(results[name]), flush=True)
        print(
            "scanned",
            json.dumps({k: results[k] for k in ("week", "year", "scanned_a", "scanned_b")}),
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "history.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
