"""`seslake backfill`: raw objects ingested again, on a laptop or by the deployed stack.

Locally the same per-object code as the `backfill` function (each object its own unit of work,
named as ingest_s3 names it, so a second run adds nothing) runs on a process pool. With
`--stack`, the stack's BackfillStateMachine (a Step Functions Distributed Map) does the work and
this follows it. `--since`/`--until` pick the days of Firehose's `YYYY/MM/DD/` key layout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from seslake.backfill import listed_object
from seslake.ingest import IngestStats
from seslake.lake import open_lake
from seslake.sources import S3Object, find_files, ingest_files, ingest_s3_object

from .errors import AthenaError

#: A day in a raw object's key or path, as Firehose lays them out (YYYY/MM/DD/HH/).
_DAY = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/")

#: Objects per batch a worker (or a map's child execution) ingests.
BATCH = 25


@dataclass(frozen=True)
class Days:
    """The days of raw objects to read, both included (None: every day)."""

    since: date | None = None
    until: date | None = None

    def holds(self, key: str) -> bool:
        if self.since is None and self.until is None:
            return True
        found = _DAY.search(key)
        if found is None:
            return False  # outside Firehose's layout: not of any day asked for
        day = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )

    def prefixes(self, prefix: str) -> list[str]:
        """The key prefixes of those days under `prefix` (one per day), or `prefix` itself."""
        if self.since is None or self.until is None:
            return [prefix]
        base = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        count = (self.until - self.since).days + 1
        days = (self.since + timedelta(days=i) for i in range(count))
        return [f"{base}{d:%Y/%m/%d}/" for d in days]


def _sum(total: IngestStats, part: dict[str, Any]) -> None:
    """A worker's batch result (a dict: it crosses processes) counted into the total."""
    counted = IngestStats(
        files=int(part["files"]),
        records=int(part["records"]),
        rows=int(part["rows"]),
        quarantined=int(part["quarantined"]),
        files_written=int(part["files_written"]),
        hard_bounces=int(part["hard_bounces"]),
        read_general=int(part["read_general"]),
    )
    counted.rows_by_type.update(part["rows_by_type"])
    counted.failed.update(part["failed_objects"])
    total.add(counted)


def _batch(items: list[Any], ingest: Callable[[Any], tuple[str, IngestStats]]) -> dict[str, Any]:
    """A worker's batch, each item ingested and committed on its own; counts as a dict."""
    total = IngestStats()
    failed: dict[str, str] = {}
    for item in items:
        name, stats = ingest(item)
        total.add(stats)
        if stats.failed:
            failed[name] = next(iter(stats.failed.values()))
    total.failed = dict(failed)
    return {**total.as_dict(), "failed_objects": failed}


def _files_batch(paths: list[str], lake_uri: str) -> dict[str, Any]:
    """One worker's batch of files."""
    lake = open_lake(lake_uri)
    return _batch(paths, lambda path: (path, ingest_files([Path(path)], lake)))


def _objects_batch(objects: list[S3Object], lake_uri: str) -> dict[str, Any]:
    """One worker's batch of S3 objects, each as the backfill function ingests it."""
    import boto3

    s3 = boto3.client("s3")
    lake = open_lake(lake_uri, s3)
    return _batch(objects, lambda obj: (obj.uri, ingest_s3_object(obj, lake, s3)))


def list_objects(source: str, days: Days, s3: Any) -> list[S3Object]:
    """The raw objects under an s3:// prefix on those days, with the identity an S3 event
    would give each (current version, or ETag), as the backfill function gives them."""
    bucket, _, prefix = source[len("s3://") :].partition("/")
    paginator = s3.get_paginator("list_objects_v2")
    return [
        listed_object(bucket, item, s3)
        for day_prefix in days.prefixes(prefix)
        for page in paginator.paginate(Bucket=bucket, Prefix=day_prefix)
        for item in page.get("Contents", [])
        if days.holds(item["Key"])
    ]


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_local(
    source: str,
    lake_uri: str,
    days: Days,
    workers: int,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[IngestStats, dict[str, str]]:
    """Every raw object of `source` (a folder or an s3:// prefix) on those days ingested
    again into the lake; the counts summed, and the objects that could not be written."""
    if source.startswith("s3://"):
        import boto3

        objects = list_objects(source, days, boto3.client("s3"))
        batches: list[Any] = list(_batches(objects, BATCH))
        work: Callable[[Any, str], dict[str, Any]] = _objects_batch
    else:
        root = Path(source)
        files = [str(f) for f in find_files([source]) if days.holds(f.relative_to(root).as_posix())]
        batches = list(_batches(files, BATCH))
        work = _files_batch
    total = IngestStats()
    if workers <= 1:
        results: Iterator[dict[str, Any]] = (work(batch, lake_uri) for batch in batches)
        for result, batch in zip(results, batches, strict=True):
            _sum(total, result)
            if on_batch:
                on_batch(len(batch))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(work, batch, lake_uri) for batch in batches]
            for future, batch in zip(futures, batches, strict=True):
                _sum(total, future.result())
                if on_batch:
                    on_batch(len(batch))
    failed = dict(total.failed)
    return total, failed


def start_on_stack(
    state_machine: str,
    source: str,
    days: Days,
    max_concurrency: int,
    tolerated_failure_percentage: float,
    session: Any = None,
) -> list[str]:
    """Start the stack's backfill for each day's prefix (or the whole prefix); the execution
    ARNs."""
    import json

    import boto3

    client = (session or boto3.Session()).client("stepfunctions")
    _, _, prefix = source[len("s3://") :].partition("/")
    started = []
    for day_prefix in days.prefixes(prefix):
        run_input = {
            "prefix": day_prefix,
            "batch_size": BATCH,
            "max_concurrency": max_concurrency,
            "tolerated_failure_percentage": tolerated_failure_percentage,
        }
        execution = client.start_execution(
            stateMachineArn=state_machine, input=json.dumps(run_input)
        )
        started.append(str(execution["executionArn"]))
    return started


def follow(
    executions: list[str],
    on_progress: Callable[[dict[str, int]], None],
    session: Any = None,
    every: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Wait for the executions to end, reporting the items of their map runs; each one's
    final status."""
    import boto3

    client = (session or boto3.Session()).client("stepfunctions")
    statuses: dict[str, str] = {}
    while True:
        counts: dict[str, int] = {}
        for arn in executions:
            statuses[arn] = client.describe_execution(executionArn=arn)["status"]
            for run in client.list_map_runs(executionArn=arn).get("mapRuns", []):
                items = client.describe_map_run(mapRunArn=run["mapRunArn"]).get("itemCounts", {})
                for name in ("total", "succeeded", "failed", "running"):
                    counts[name] = counts.get(name, 0) + int(items.get(name, 0))
        on_progress(counts)
        if all(status != "RUNNING" for status in statuses.values()):
            return statuses
        sleep(every)


def state_machine_of(stack: str, session: Any = None) -> str:
    from .engines.athena import stack_outputs

    arn = stack_outputs(stack, session).get("BackfillStateMachine")
    if not arn:
        raise AthenaError(f"stack {stack} has no BackfillStateMachine output")
    return arn
