"""Backfill: raw objects ingested again, each exactly as `ingest_s3` ingests it.

A backfill runs on AWS as a Step Functions Distributed Map over a prefix of raw objects (the
`BackfillStateMachine` of template.yaml): S3 lists the objects, the map hands them out in
batches, and the `backfill` function ingests each batch here. Each object is its own unit
of work, named by the same identity as `ingest_s3` gives it (URI with version, or ETag), so its
output files have the same names: a backfill over objects already ingested rewrites the same
files with the same rows and adds nothing. On a laptop, `seslake backfill` runs the same per-object
code on a process pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .ingest import IngestStats
from .lake import Lake
from .sources import S3Object, ingest_s3_object, map_batch_items

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class BatchResult:
    """What one batch of objects gave: the counts, and the objects that could not be written
    (with why), which the map counts against its tolerated failures."""

    stats: IngestStats
    failed: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {**self.stats.as_dict(), "failed_objects": self.failed}


def listed_object(bucket: str, item: Mapping[str, Any], s3: S3Client) -> S3Object:
    """An S3 object as ListObjectsV2 lists it (what the map's item reader hands out), with the
    identity an S3 event would give it: ListObjectsV2 quotes ETags and names no version, so the
    current version is asked for (none in an unversioned bucket)."""
    key = str(item["Key"])
    etag = str(item.get("ETag") or "").strip('"')
    head = s3.head_object(Bucket=bucket, Key=key)
    listed = head.get("VersionId")
    version = None if listed in (None, "null") else str(listed)
    return S3Object(
        bucket,
        key,
        etag or str(head.get("ETag", "")).strip('"'),
        int(item.get("Size") or 0),
        version,
    )


def backfill_objects(objects: Iterable[S3Object], lake: Lake, s3: S3Client) -> BatchResult:
    """Ingest each object on its own (its own commit, as ingest_s3 does); counts summed."""
    total = IngestStats()
    failed: dict[str, str] = {}
    for obj in objects:
        stats = ingest_s3_object(obj, lake, s3)
        total.add(stats)
        if stats.failed:
            failed[obj.uri] = next(iter(stats.failed.values()))
    total.failed = dict(failed)
    return BatchResult(total, failed)


def map_batch(event: Mapping[str, Any], lake: Lake, s3: S3Client) -> BatchResult:
    """One batch of a Distributed Map with an S3 ListObjectsV2 item reader and an item batcher:
    `{"Items": [{"Key", "ETag", "Size", ...}], "BatchInput": {"bucket": ...}}`."""
    items, bucket = map_batch_items(event, "bucket")
    return backfill_objects((listed_object(bucket, item, s3) for item in items), lake, s3)
