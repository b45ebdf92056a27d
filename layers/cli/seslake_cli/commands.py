"""The `seslake` command line."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from seslake_cli.engines import Engine
    from seslake_cli.questions import Bounds

from seslake.errors import LakeLocationError, SeslakeError

DEFAULT_LAKE = "./lake"
#: Rejected internal rows `load-internal` names one by one before summarizing the rest.
SHOWN_REJECTED = 10


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

    load = commands.add_parser(
        "load-internal",
        help="load the company's own data (CSV, JSON lines, Parquet) into ses_requests",
        description="Each file becomes one Parquet file under <lake>/ses_requests/, named after "
        "the file name: loading a file again replaces its rows. message_id is required on every "
        "row; rows without one are reported (file:line) and not loaded, and the exit status is "
        "3. A CSV cell is text as written (NA, null, 000123 stay what they are); only an empty "
        "cell is missing. Declare other types with --types.",
    )
    load.add_argument("files", nargs="+", metavar="FILE")
    load.add_argument(
        "--types",
        default="",
        metavar="NAME=TYPE[,...]",
        help="types of CSV columns: string, bigint, double, boolean, timestamp, date "
        "(e.g. customer_id=bigint,signup=date); a cell that does not fit refuses its file",
    )
    _lake_option(load)
    load.set_defaults(run=_load_internal)

    query = commands.add_parser(
        "query",
        help="run a view or Athena SQL over the lake (locally on DuckDB, or --athena)",
        description="VIEW_OR_SQL is a view or table name (everything it holds) or one Athena "
        "SQL statement. Locally the views of athena/views run on DuckDB with Athena's semantics.",
    )
    query.add_argument("sql", metavar="VIEW_OR_SQL")
    _engine_options(query)
    query.set_defaults(run=_query)

    summary = commands.add_parser(
        "summary",
        help="success rates by any cohort: summary_by_region's measures, grouped your way",
    )
    summary.add_argument(
        "--by",
        default="region",
        help="comma-separated columns of message_facts (internal columns included) or "
        "tag:NAME for a message tag (default: %(default)s)",
    )
    _engine_options(summary)
    summary.set_defaults(run=_summary)

    journey = commands.add_parser(
        "journey", help="every step of one message, per recipient, from the send on"
    )
    journey.add_argument("message_id", metavar="MESSAGE_ID")
    journey.add_argument("--recipient", help="only this recipient")
    _engine_options(journey)
    journey.set_defaults(run=_journey)

    demo = commands.add_parser(
        "demo",
        help="the whole product on a laptop: SES traffic through the real handlers in moto, "
        "answered by the views on DuckDB, checked, and shown as an HTML report",
    )
    demo.add_argument("--messages", type=int, default=10_000, help="default: %(default)s")
    demo.add_argument("--seed", type=int, default=1, help="same seed, same data")
    demo.add_argument("--out", default="demo", help="output folder (default: %(default)s)")
    demo.add_argument(
        "--keep", action="store_true", help="keep the lake in OUT/lake for `seslake query`"
    )
    demo.add_argument(
        "--all-through-moto",
        action="store_true",
        help="send every record through moto's SNS and SQS, not only the first 1,000 (slower)",
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)

    invoke = commands.add_parser(
        "invoke",
        help="run a function's real handler on an event file, against moto (no Docker)",
        description="Stands up the stack's resources in moto from template.yaml, gives the "
        "function its template environment, puts in place what the event points at, runs the "
        "handler and prints its response as JSON. FUNCTION is a folder of functions/ or a "
        "logical id.",
    )
    invoke.add_argument("function", metavar="FUNCTION")
    invoke.add_argument("event", metavar="EVENT_FILE")
    invoke.add_argument("--object", help="file to upload as the object an S3 event names")
    invoke.set_defaults(run=_invoke)

    backfill = commands.add_parser(
        "backfill",
        help="ingest raw Firehose objects again (a folder or s3:// prefix), idempotently",
        description="Ingest raw objects again, each exactly as ingest_s3 ingests it: the same "
        "rows in the same files, so objects already ingested add nothing. Locally on a process "
        "pool; with --stack, the stack's Step Functions Distributed Map does it and this "
        "follows it. --since/--until pick days of Firehose's YYYY/MM/DD/ key layout.",
    )
    backfill.add_argument("source", metavar="SOURCE", help="folder, or s3://bucket/prefix")
    _lake_option(backfill)
    backfill.add_argument("--since", metavar="YYYY-MM-DD", help="first day of raw objects")
    backfill.add_argument("--until", metavar="YYYY-MM-DD", help="last day of raw objects")
    backfill.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes locally (default: the machine's cores, %(default)s)",
    )
    backfill.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    on_stack = backfill.add_argument_group("a deployed stack (instead of this machine)")
    on_stack.add_argument("--stack", help="stack whose BackfillStateMachine does the work")
    on_stack.add_argument(
        "--max-concurrency",
        type=int,
        default=20,
        help="batches at once (default: %(default)s; within the BackfillMaxConcurrency "
        "parameter, the function's reserved concurrency)",
    )
    on_stack.add_argument(
        "--tolerated-failure-percentage",
        type=float,
        default=0.0,
        help="failed batches the run accepts before failing (default: %(default)s)",
    )
    backfill.set_defaults(run=_backfill)

    erase = commands.add_parser(
        "erase",
        help="remove one person's address from every file and object of the lake",
        description="Find every Parquet file of ses_events and ses_requests, quarantine entry "
        "and raw object that holds the address; remove the address's rows, scrub it from other "
        "rows (destination lists, headers in raw), rewrite each file only if unchanged since "
        "read, delete old object versions, search again to prove it gone, and write an audit "
        "record (the address's SHA-256, never the address) under <lake>/audit/erasure/.",
    )
    erase.add_argument("addresses", nargs="+", metavar="ADDRESS", help="email address")
    _lake_option(erase)
    erase.add_argument(
        "--raw", metavar="DIR_OR_S3_URI", help="raw Firehose objects to erase from as well"
    )
    erase.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )
    erase.add_argument(
        "--stack", help="erase on a deployed stack: Athena finds, its EraseStateMachine rewrites"
    )
    erase.set_defaults(run=_erase)

    schema = commands.add_parser("schema", help="print the ses_events schema as Markdown")
    schema.set_defaults(run=_schema)
    return parser


def _lake_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake", default=DEFAULT_LAKE, help="folder or s3://bucket/prefix (default: %(default)s)"
    )


def _engine_options(parser: argparse.ArgumentParser) -> None:
    _lake_option(parser)
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    bounded = parser.add_argument_group(
        "a bounded question: messages sent in some days, and their events' days only"
    )
    bounded.add_argument("--since", metavar="YYYY-MM-DD", help="first day of sending")
    bounded.add_argument("--until", metavar="YYYY-MM-DD", help="last day of sending")
    bounded.add_argument(
        "--window-days",
        type=int,
        default=30,
        help="days after --until whose events still count (default: %(default)s)",
    )
    athena = parser.add_argument_group("a deployed stack (instead of the local engine)")
    athena.add_argument("--athena", action="store_true", help="ask Athena, through awswrangler")
    athena.add_argument("--stack", help="stack whose outputs name the database and workgroup")
    athena.add_argument("--database", help="Glue database of the lake")
    athena.add_argument("--workgroup", help="Athena workgroup")


def _bounds(args: argparse.Namespace) -> Bounds | None:
    from seslake_cli.questions import Bounds

    return Bounds.parse(args.since, args.until, args.window_days)


def _engine(args: argparse.Namespace) -> Engine:
    bounds = _bounds(args)
    if args.athena:
        from seslake_cli.engines.athena import AthenaEngine, stack_outputs
        from seslake_cli.errors import AthenaError

        outputs = stack_outputs(args.stack) if args.stack else {}
        database = args.database or outputs.get("GlueDatabase")
        workgroup = args.workgroup or outputs.get("AthenaWorkGroup")
        if not database or not workgroup:
            raise AthenaError("--athena needs --stack, or --database and --workgroup")
        return AthenaEngine(database, workgroup, scan=bounds.scan() if bounds else None)
    from seslake.errors import LakeLocationError
    from seslake.lake import local_copy
    from seslake.schema import EVENTS_TABLE, REQUESTS_TABLE
    from seslake_cli.engines.local import LocalAthena

    if not args.lake.startswith("s3://") and not Path(args.lake).is_dir():
        # A typo in --lake must not answer 0 rows as if the lake were empty.
        raise LakeLocationError(f"no lake at {args.lake}: no such folder")
    days = bounds.scan_days if bounds is not None else None
    cache = _cache_dir() / args.lake[len("s3://") :] if args.lake.startswith("s3://") else None
    tables = (EVENTS_TABLE, REQUESTS_TABLE)
    folder = local_copy(args.lake, cache or Path(args.lake), tables, days=days)
    engine = LocalAthena(
        folder, days=days, notify=lambda note: print(f"seslake: {note}", file=sys.stderr)
    )
    if sys.stderr.isatty():
        engine.progress = _QueryProgress(engine.files)
    return engine


class _QueryProgress:
    """How far a long local query is, on one line of stderr (a terminal's), cleared at the
    end: `seslake: query 42% (35,724 files)`."""

    def __init__(self, files: int) -> None:
        self.files = files
        self.shown = False

    def __call__(self, done: float) -> None:
        sys.stderr.write(f"\rseslake: query {done:3.0f}% ({self.files:,} files)")
        sys.stderr.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seslake" / "s3"


def _load_internal(args: argparse.Namespace) -> int:
    from seslake.internal import load_internal, parse_types
    from seslake.lake import open_lake

    paths = [Path(f) for f in args.files]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
    types = parse_types(args.types)
    lake = open_lake(args.lake)
    stats, _ = load_internal(paths, lake, types)
    summary = stats.as_dict()
    summary["lake"] = lake.uri
    print(orjson.dumps(summary).decode())
    for rejected in stats.rejected[:SHOWN_REJECTED]:
        print(f"seslake: rejected {rejected}", file=sys.stderr)
    if len(stats.rejected) > SHOWN_REJECTED:
        print(
            f"seslake: ... and {len(stats.rejected) - SHOWN_REJECTED} more rejected",
            file=sys.stderr,
        )
    return 3 if stats.rejected else 0


def _run(
    args: argparse.Namespace, sql: str | Callable[[Engine], str], empty: str | None = None
) -> int:
    """Run the query and print the result; with `empty`, no row is an error saying so."""
    from seslake_cli.output import render

    engine = _engine(args)
    try:
        text = sql(engine) if callable(sql) else sql
        table = engine.query(text)
    finally:
        engine.close()
        progress = getattr(engine, "progress", None)
        if isinstance(progress, _QueryProgress):
            progress.end()
    if empty is not None and table.num_rows == 0:
        print(f"seslake: {empty}", file=sys.stderr)
        return 1
    sys.stdout.write(render(table, args.format))
    return 0


def _query(args: argparse.Namespace) -> int:
    text = args.sql.strip().rstrip(";")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return _run(args, text)  # bounded, if asked, at the scan only
    bounds = _bounds(args)

    def build(engine: Engine) -> str:
        # A message-level view, bounded: only the pairs sent within the bounds.
        if bounds is not None and "sent_at" in engine.columns(text):
            return f"select * from {text} where {bounds.sent_filter()}"
        return f"select * from {text}"

    return _run(args, build)


def _summary(args: argparse.Namespace) -> int:
    from seslake_cli.questions import summary_sql

    by = [c.strip() for c in args.by.split(",") if c.strip()]

    bounds = _bounds(args)

    def build(engine: Engine) -> str:
        view = next(v for v in engine.views if v.name == "summary_by_region")
        return summary_sql(view, by, engine.columns("message_facts"), bounds)

    return _run(args, build)


def _journey(args: argparse.Namespace) -> int:
    from seslake_cli.questions import journey_sql

    who = f" to {args.recipient}" if args.recipient else ""
    return _run(
        args,
        journey_sql(args.message_id, args.recipient),
        empty=f"no event for message {args.message_id}{who} in the lake",
    )


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


def _demo(args: argparse.Namespace) -> int:
    from seslake_cli.demo.run import run_demo

    if args.messages < 1:
        raise SystemExit("seslake: --messages must be at least 1")
    result = run_demo(
        args.messages,
        args.seed,
        Path(args.out),
        keep=args.keep,
        progress=not args.no_progress,
        all_through_moto=args.all_through_moto,
    )
    if result.lake is not None:
        print(f"Lake kept: seslake query summary_by_region --lake {result.lake}")
    return 0 if result.ok else 4


def _invoke(args: argparse.Namespace) -> int:
    from seslake_cli.invoke import invoke

    event = Path(args.event)
    if not event.is_file():
        raise FileNotFoundError(f"no such event file: {event}")
    result = invoke(args.function, event, Path(args.object) if args.object else None)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2, default=str).decode())
    return 0


def _schema(args: argparse.Namespace) -> int:
    from seslake.schema import markdown

    sys.stdout.write(markdown())
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from seslake_cli.backfill import (
        Days,
        follow,
        run_local,
        start_on_stack,
        state_machine_of,
    )
    from seslake_cli.questions import Bounds

    bounds = Bounds.parse(args.since, args.until, 0)
    days = Days(bounds.since, bounds.until) if bounds is not None else Days()
    if args.stack:
        if not args.source.startswith("s3://"):
            raise SeslakeError("--stack backfills raw objects in S3: give s3://bucket/prefix")
        arn = state_machine_of(args.stack)
        executions = start_on_stack(
            arn, args.source, days, args.max_concurrency, args.tolerated_failure_percentage
        )
        print(f"seslake: started {len(executions)} execution(s) of {arn}", file=sys.stderr)

        def show(counts: dict[str, int]) -> None:
            if not args.no_progress and counts:
                done = counts.get("succeeded", 0) + counts.get("failed", 0)
                print(
                    f"seslake: {done:,} of {counts.get('total', 0):,} batches done, "
                    f"{counts.get('failed', 0):,} failed",
                    file=sys.stderr,
                )

        statuses = follow(executions, show)
        print(orjson.dumps({"executions": statuses}).decode())
        return 0 if all(status == "SUCCEEDED" for status in statuses.values()) else 1
    started = time.perf_counter()
    with _progress(None, "backfill", disable=args.no_progress, unit=" objects") as on_batch:
        stats, failed = run_local(args.source, args.lake, days, args.workers, on_batch)
    seconds = time.perf_counter() - started
    summary = {
        **stats.as_dict(),
        "failed": len(failed),
        "seconds": round(seconds, 2),
        "objects_per_s": round(stats.files / seconds, 1) if seconds else None,
        "events_per_s": round(stats.records / seconds) if seconds else None,
        "lake": args.lake,
    }
    print(orjson.dumps(summary).decode())
    for uri, reason in list(failed.items())[:SHOWN_REJECTED]:
        print(f"seslake: not written: {uri}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def _erase(args: argparse.Namespace) -> int:
    from seslake_cli.erase import erase, erase_on_stack

    if args.stack:
        if args.dry_run:
            raise SeslakeError("--dry-run runs locally: give --lake s3://... instead of --stack")
        try:
            record = erase_on_stack(args.addresses, args.stack)
        except ValueError as error:
            raise SeslakeError(str(error)) from error
        print(orjson.dumps(record).decode())
        return 0
    if not args.lake.startswith("s3://") and not Path(args.lake).is_dir():
        raise LakeLocationError(f"no lake at {args.lake}: no such folder")
    try:
        record = erase(args.addresses, args.lake, args.raw, dry_run=args.dry_run)
    except ValueError as error:
        raise SeslakeError(str(error)) from error
    print(orjson.dumps(record).decode())
    return 0


class _progress:
    """A tqdm counter on stderr (of bytes, or of `unit`s out of no known total) when tqdm is
    installed and stderr is a terminal."""

    def __init__(
        self, total: int | None, label: str, disable: bool = False, unit: str = "B"
    ) -> None:
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
            unit=unit,
            unit_scale=unit == "B",
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
