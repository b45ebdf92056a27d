"""`seslake demo` wall time per stage and SES records per second, at 10,000 and 100,000 messages.

Writes bench/out/demo.json. The README's figures come from this script (`make bench`).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

from seslake_cli.demo.run import run_demo

OUT = Path(__file__).resolve().parent / "out"


def main(sizes: list[int]) -> None:
    OUT.mkdir(exist_ok=True)
    results = {}
    for messages in sizes:
        with tempfile.TemporaryDirectory() as folder:
            result = run_demo(
                messages, seed=1, out=Path(folder), progress=False, write=io.StringIO().write
            )
        total = sum(result.timings.values())
        results[messages] = {
            "stages_s": {k: round(v, 2) for k, v in result.timings.items()},
            "total_s": round(total, 2),
            "ses_records": result.events,
            "records_per_s": round(result.events / total),
            "self_check_ok": result.ok,
        }
        print(
            f"demo {messages:>7,} messages: {total:6.1f} s, {result.events:,} records, "
            f"{result.events / total:,.0f} records/s, self-check "
            f"{'ok' if result.ok else 'FAILED'}"
        )
        for stage, seconds in result.timings.items():
            print(f"    {stage:<26} {seconds:6.1f} s")
    (OUT / "demo.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
