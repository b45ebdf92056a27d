"""Drivers of the ingest core for each kind of input: local files, S3 objects, Lambda batches.

Each returns the IngestStats of its run; the Lambda handlers and the CLI are thin on top.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from seslake.envelopes import LAMBDA_EVENT, Unit, sqs_retry_key
from seslake.errors import LakeWriteError, TriggerError
from seslake.ingest import Ingestor, IngestStats, paused_gc
from seslake.lake import READ_CHUNK, REWRITTEN, Lake

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: `seslake ingest` commits (uploads its files) at least this often, to bound temporary space.
COMMIT_ROWS = 1_000_000
_SKIP_IN_FOLDERS = {".md", ".rst"}


def find_files(sources: Iterable[str]) -> list[Path]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped).

    Raises FileNotFoundError naming the first source that does not exist."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if (
                    found.is_file()
                    and not any(p.startswith(".") for p in rel)
                    and found.suffix.lower() not in _SKIP_IN_FOLDERS
                ):
                    files.append(found)
        else:
            raise FileNotFoundError(f"no such file or folder: {source}")
    return files


def _content_digest(path: Path) -> str:
    """What a file holds, in short: the same content at the same path is the same input (a run
    again rewrites its outputs), any other file is another."""
    digest = hashlib.blake2b(digest_size=12)
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            yield chunk


def ingest_files(
    files: list[Path], lake: Lake, on_bytes: Callable[[int], None] | None = None
) -> IngestStats:
    """Every file through the core, as streams of JSON values (any envelope, plain or gzip)."""
    ingestor = Ingestor(lake)
    with paused_gc():
        for path in files:
            identity = f"{path.resolve()}@{_content_digest(path)}"
            ingestor.add_stream(_file_chunks(path), str(path), identity, on_bytes)
            ingestor.stats.files += 1
            if ingestor.pending_rows >= COMMIT_ROWS:
                ingestor.commit()
        ingestor.commit()
    return ingestor.stats


@dataclass(frozen=True)
class S3Object:
    """An object an S3 event notification names (its key URL-decoded)."""

    bucket: str
    key: str
    etag: str
    size: int
    version: str | None = None  # in a versioned bucket: the version the event is about

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str:
        """The object for good: its URI with the version (or, unversioned, the ETag)."""
        if self.version:
            return f"{self.uri}?versionId={self.version}"
        return f"{self.uri}?etag={self.etag}" if self.etag else self.uri


def s3_objects(event: dict[str, Any]) -> list[S3Object]:
    """The objects of an S3 event notification (keys arrive URL-encoded, spaces as '+').

    The test event S3 sends when a notification is configured holds none. Any other event is
    a wiring mistake (TriggerError): failing loudly beats ignoring what it may carry."""
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        keys = ", ".join(sorted(event)[:8]) or "none"
        raise TriggerError(f"not an S3 event notification (keys: {keys})")
    objects = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict):
            source = record.get("eventSource") if isinstance(record, dict) else None
            raise TriggerError(f"not an S3 event notification record (eventSource {source!r})")
        obj = s3["object"]
        objects.append(
            S3Object(
                s3["bucket"]["name"],
                unquote_plus(obj["key"]),
                str(obj.get("eTag") or obj.get("etag") or ""),
                int(obj.get("size") or 0),
                str(obj["versionId"]) if obj.get("versionId") else None,
            )
        )
    return objects


def ingest_s3_object(
    obj: S3Object, lake: Lake, s3: S3Client, skip_rewritten: bool = False
) -> IngestStats:
    """One raw (Firehose) object, streamed: memory does not grow with its size. With
    `skip_rewritten` (an S3 notification), an object erasure rewrote is not read: its records
    were ingested when it first arrived."""
    ingestor = Ingestor(lake)
    # The version the event names: the key may hold a newer one by now.
    if obj.version:
        response = s3.get_object(Bucket=obj.bucket, Key=obj.key, VersionId=obj.version)
    else:
        response = s3.get_object(Bucket=obj.bucket, Key=obj.key)
    if skip_rewritten and response.get("Metadata", {}).get(REWRITTEN):
        response["Body"].close()
        return ingestor.stats
    body = response["Body"]
    with paused_gc():
        ingestor.add_stream(body.iter_chunks(READ_CHUNK), obj.uri, f"{obj.identity}@{obj.etag}")
        ingestor.stats.files += 1
        ingestor.commit()
    return ingestor.stats


def ingest_lambda_event(event: dict[str, Any], lake: Lake) -> IngestStats:
    """An SNS or SQS Lambda event; `stats.failed` names the records (`sqs:<id>`) not written."""
    ingestor = Ingestor(lake)
    with paused_gc():
        ingestor.add_value(event, Unit(b"", LAMBDA_EVENT, LAMBDA_EVENT))
        ingestor.commit()
    return ingestor.stats


def lambda_event_response(event: dict[str, Any], stats: IngestStats) -> dict[str, Any]:
    """What the function answers for an ingested SNS or SQS event.

    SQS (ReportBatchItemFailures): the messages whose rows could not be written, so only they
    are retried
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); if none
    could be, the invocation fails and the whole batch is retried. A direct SNS invocation
    cannot report part of a batch: a failure raises, so Lambda retries the invocation and then
    sends it to the on-failure destination.
    """
    records = event.get("Records") or [{}]
    if records[0].get("eventSource") == "aws:sqs":
        failed = [
            {"itemIdentifier": record["messageId"]}
            for record in records
            if sqs_retry_key(record.get("messageId")) in stats.failed
        ]
        if failed and len(failed) == len(records):
            # Nothing written: the invocation fails, as Lambda's Errors metric and alarm see it.
            first = next(iter(stats.failed.values()))
            raise LakeWriteError(f"All records failed: {len(failed)} of the batch; {first}")
        return {"batchItemFailures": failed}
    if stats.failed:
        raise LakeWriteError(next(iter(stats.failed.values())))
    return stats.as_dict()


def map_batch_items(event: Mapping[str, Any], needs: str) -> tuple[list[Any], str]:
    """The items of a Step Functions Distributed Map batch (an item batcher's
    `{"Items": [...], "BatchInput": {...}}`) and the BatchInput field `needs`; a TriggerError
    for anything else."""
    items = event.get("Items")
    batch_input = event.get("BatchInput")
    value = batch_input.get(needs) if isinstance(batch_input, Mapping) else None
    if not isinstance(items, list) or not isinstance(value, str):
        keys = ", ".join(sorted(event)[:8]) or "none"
        raise TriggerError(f"not a Distributed Map batch with BatchInput.{needs} (keys: {keys})")
    return items, value


def env_lake_uri() -> str:
    """The lake location the functions write to (env LAKE_URI, else s3://LAKE_BUCKET/lake)."""
    uri = os.environ.get("LAKE_URI")
    if uri:
        return uri
    return f"s3://{os.environ['LAKE_BUCKET']}/{os.environ.get('LAKE_PREFIX', 'lake')}"


def check_trigger(obj: S3Object, raw_prefix: str, lake: Lake) -> None:
    """Refuse an object outside the raw prefix, or a lake that would re-trigger the function."""
    if not obj.key.startswith(raw_prefix):
        raise TriggerError(
            f"{obj.uri} is outside the raw prefix {raw_prefix!r}: the S3 trigger is misconfigured"
        )
    lake_uri = lake.uri.rstrip("/") + "/"
    if lake_uri.startswith(f"s3://{obj.bucket}/{raw_prefix}") or (
        f"s3://{obj.bucket}/{raw_prefix}".startswith(lake_uri)
    ):
        raise TriggerError(
            f"the lake {lake.uri} overlaps the raw prefix {raw_prefix!r}: "
            "writing would trigger ingest again"
        )
