"""The `seslake` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from seslake.errors import SeslakeError

DEFAULT_LAKE = "./lake"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except SeslakeError as exc:
        print(f"seslake: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"seslake: {exc}", file=sys.stderr)
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seslake", description="Every Amazon SES event in one queryable Parquet lake."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="normalize SES events from files or folders into the lake",
        description="Read SES events in any envelope (SNS, SQS, EventBridge, Firehose objects, "
        "bare records; plain or gzip) from files and folders (recursive) and write them to "
        "the lake. Bad records go to <lake>/quarantine/ with their reason.",
    )
    ingest.add_argument("sources", nargs="+", metavar="SOURCE", help="file or folder")
    ingest.add_argument(
        "--lake", default=DEFAULT_LAKE, help="folder or s3://bucket/prefix (default: %(default)s)"
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ingest.set_defaults(run=_ingest)

    schema = commands.add_parser("schema", help="print the ses_events schema as Markdown")
    schema.set_defaults(run=_schema)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    from seslake.lake import open_lake
    from seslake.sources import find_files, ingest_files

    files = find_files(args.sources)
    lake = open_lake(args.lake)
    total = sum(f.stat().st_size for f in files)
    with _progress(total, "ingest", disable=args.no_progress) as on_bytes:
        stats = ingest_files(files, lake, on_bytes)
    summary = stats.as_dict()
    summary["lake"] = lake.uri
    if stats.quarantine_reasons:
        summary["quarantine_reasons"] = dict(stats.quarantine_reasons.most_common())
    print(orjson.dumps(summary).decode())
    if stats.failed:
        first = next(iter(stats.failed.values()))
        print(
            f"seslake: {len(stats.failed)} input(s) could not be written: {first}", file=sys.stderr
        )
        return 1
    return 0


def _schema(args: argparse.Namespace) -> int:
    from seslake.schema import markdown

    sys.stdout.write(markdown())
    return 0


class _progress:
    """A tqdm byte counter on stderr when tqdm is installed and stderr is a terminal."""

    def __init__(self, total: int, label: str, disable: bool = False) -> None:
        self.bar: Any = None
        if disable:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=total,
            desc=label,
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            disable=None,
            mininterval=0.5,
        )

    def __enter__(self) -> Callable[[int], None] | None:
        return self.bar.update if self.bar is not None else None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


if __name__ == "__main__":
    sys.exit(main())
